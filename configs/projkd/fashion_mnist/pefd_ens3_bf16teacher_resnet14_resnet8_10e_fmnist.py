# The ensemble of 3 with the teacher forced to bf16 autocast + channels_last
# on any machine (teacher_dtype='auto' only picks bf16 where the device
# computes it natively): with pefd_ens3_fp32teacher_*, the accuracy check of
# the cheap teacher (docs/benchmarks.md, "A cheap teacher").
_base_ = './pefd_ens3_resnet14_resnet8_10e_fmnist.py'

model = dict(teacher_dtype='bf16', teacher_memory_format='channels_last')
