# The ensemble of 3 with the teacher forced to bf16 autocast +
# channels_last on any machine ('auto' picks bf16 only where the device
# computes it natively); with pefd_ens3_fp32teacher_*, the accuracy check of
# the cheap teacher.
_base_ = './pefd_ens3_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(teacher_dtype='bf16', teacher_memory_format='channels_last')
