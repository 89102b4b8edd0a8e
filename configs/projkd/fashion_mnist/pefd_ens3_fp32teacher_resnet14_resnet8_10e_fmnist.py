# Control for the cheap teacher: the ensemble of 3 with the teacher run
# exactly, in fp32 and the contiguous layout (every other PEFD config says
# teacher_dtype='auto', teacher_memory_format='channels_last':
# _base_/models/pefd_distill.py).
_base_ = './pefd_ens3_resnet14_resnet8_10e_fmnist.py'

model = dict(teacher_dtype='fp32', teacher_memory_format='contiguous')
