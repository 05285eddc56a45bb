from controltower.imports import CsvImportCommand
from rollout.training import TRAINING_COLUMNS, TRAINING_OPTIONAL_COLUMNS, record_training


class Command(CsvImportCommand):
    what = "training records (one per person and module; a re-import updates them)"
    columns = TRAINING_COLUMNS
    optional_columns = TRAINING_OPTIONAL_COLUMNS
    load = staticmethod(record_training)
