from controltower.imports import CsvImportCommand
from inventory.masterdata import SKU_COLUMNS, SKU_OPTIONAL_COLUMNS, import_skus


class Command(CsvImportCommand):
    what = "the item master"
    columns = SKU_COLUMNS
    optional_columns = SKU_OPTIONAL_COLUMNS
    load = staticmethod(import_skus)
    audited = True
