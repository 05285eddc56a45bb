from controltower.imports import CsvImportCommand
from inventory.safety_stock import SAFETY_STOCK_COLUMNS, set_safety_stock


class Command(CsvImportCommand):
    what = "safety stock per location x SKU"
    columns = SAFETY_STOCK_COLUMNS
    audited = True
    load = staticmethod(set_safety_stock)
