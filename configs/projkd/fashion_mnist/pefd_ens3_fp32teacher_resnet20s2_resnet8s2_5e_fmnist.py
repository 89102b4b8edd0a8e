# Control for the cheap teacher: the ensemble of 3 with the teacher run
# exactly, in fp32 and the contiguous layout.
_base_ = './pefd_ens3_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(teacher_dtype='fp32', teacher_memory_format='contiguous')
