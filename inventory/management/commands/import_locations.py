from controltower.imports import CsvImportCommand
from inventory.masterdata import LOCATION_COLUMNS, LOCATION_OPTIONAL_COLUMNS, import_locations


class Command(CsvImportCommand):
    what = "stores, DCs and ecommerce nodes"
    columns = LOCATION_COLUMNS
    optional_columns = LOCATION_OPTIONAL_COLUMNS
    load = staticmethod(import_locations)
    audited = True
