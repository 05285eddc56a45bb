from controltower.imports import CsvImportCommand
from rollout.waves import WAVE_COLUMNS, WAVE_OPTIONAL_COLUMNS, import_waves


class Command(CsvImportCommand):
    what = "rollout waves and their stores (locations separated by ';')"
    columns = WAVE_COLUMNS
    optional_columns = WAVE_OPTIONAL_COLUMNS
    load = staticmethod(import_waves)
    audited = True
