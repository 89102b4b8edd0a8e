from projkd_mm.models.distillers.checked_configurable_distiller import (
    CheckedConfigurableDistiller,
    RecorderSourceError,
    RecordIndexError,
    RecordTypeError,
)

__all__ = ['CheckedConfigurableDistiller', 'RecorderSourceError',
           'RecordIndexError', 'RecordTypeError']
