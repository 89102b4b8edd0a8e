from projkd_mm.models.losses.feature_mse_loss import FeatureMSELoss

__all__ = ['FeatureMSELoss']
