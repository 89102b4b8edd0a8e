from projkd_mm.models.connectors.projector_ensemble_connector import (
    ProjectorEnsembleConnector,
)

__all__ = ['ProjectorEnsembleConnector']
