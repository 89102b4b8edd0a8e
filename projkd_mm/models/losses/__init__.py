from projkd_mm.models.losses.feature_mse_loss import FeatureMSELoss
from projkd_mm.models.losses.srd_loss import SRDLoss

__all__ = ['FeatureMSELoss', 'SRDLoss']
