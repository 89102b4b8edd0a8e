# CIFAR-100 as in RepDistiller/CRD and PEFD: RandomCrop 32 (pad 4) + flip for
# training, no test-time augmentation, batch 64 on one GPU. mmpretrain's
# CIFAR100 reads the python pickles from data_root (downloaded there the first
# time if absent).
dataset_type = 'CIFAR100'
data_root = 'data/cifar100'

data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=100,
    # RepDistiller's Normalize((0.5071, 0.4867, 0.4408),
    # (0.2675, 0.2565, 0.2761)) x 255: the statistics its zoo teachers were
    # trained with (mmpretrain's cifar100_bs16 differs in the 3rd digit).
    mean=[129.3105, 124.1085, 112.404],
    std=[68.2125, 65.4075, 70.4055],
    # The CIFAR pickles are RGB already.
    to_rgb=False)

# RandomPadCropFlip (projkd_mm): mmpretrain's RandomCrop(32, padding=4) +
# RandomFlip(prob=0.5, direction='horizontal') in one step, the same images
# from the same random draws at less CPU time per image.
# PackInputs also keeps which of its 162 views each sample is, so a teacher
# cache (tools/cache_teacher.py, model.teacher_cache) can serve the
# teacher's outputs for it.
train_pipeline = [
    dict(type='RandomPadCropFlip', crop_size=32, padding=4, flip_prob=0.5),
    dict(type='PackInputs',
         meta_keys=('sample_idx', 'img_shape', 'flip', 'flip_direction',
                    'view')),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
