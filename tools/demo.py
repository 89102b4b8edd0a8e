"""Fashion-MNIST demo: teacher, student alone, student distilled with a
projector ensemble, on 2 CPU cores in about 20 minutes.

    python tools/demo.py [--data-root DIR] [--work-dir work_dirs/demo]
        [--train-size 20000] [--epochs 10] [--seed 0] [--download]

Every run is tools/train.py on a config of configs/projkd/fashion_mnist/,
the same code path as the ImageNet recipe. A teacher checkpoint from an
earlier run (WORK_DIR/teacher.pth) is reused; the other runs of an earlier
demo in WORK_DIR are started over (tools/train.py --overwrite).
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.append(osp.join(REPO, 'tools'))
# torch, mmengine and projkd_mm are imported after parse_args(), so --help
# and argument errors answer at once. For the help text only; the data
# search uses projkd_mm.datasets.DEBIAN_FASHION_MNIST (tests check they
# agree).
DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'

CONFIGS = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist')
TEACHER = osp.join(CONFIGS, 'resnet14_10e_fmnist.py')
STUDENT = osp.join(CONFIGS, 'resnet8_10e_fmnist.py')
DISTILLED = osp.join(CONFIGS, 'pefd_resnet14_resnet8_10e_fmnist.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root',
                        help='folder with the Fashion-MNIST idx files '
                        '(plain or .gz); default: data/fashion_mnist, then '
                        f'{DEBIAN_FASHION_MNIST}')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--train-size', type=int, default=20000,
                        help='training images used (of 60,000)')
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--download', action='store_true',
                        help='let mmpretrain download Fashion-MNIST into '
                        'data/fashion_mnist if it is found nowhere')
    return parser.parse_args(argv)


def find_data(args) -> str:
    from projkd_mm.datasets import (
        DEBIAN_FASHION_MNIST,
        DatasetFilesError,
        prepare_idx_dataset,
    )
    default = osp.join(REPO, 'data', 'fashion_mnist')
    search = [args.data_root] if args.data_root else [default,
                                                      DEBIAN_FASHION_MNIST]
    try:
        return prepare_idx_dataset(search, default)
    except DatasetFilesError:
        if args.download and not args.data_root:
            return default  # mmpretrain's FashionMNIST downloads it there
        raise


def schedule_options(args) -> dict:
    # Keep the x0.1 steps at 60% / 80% of training, as in the configs.
    epochs = args.epochs
    return {
        'train_cfg.max_epochs': epochs,
        'param_scheduler.milestones': [max(1, round(epochs * 0.6)),
                                       max(1, round(epochs * 0.8))],
        'randomness.seed': args.seed,
    }


def plot(curves: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, marker='o', label=name)
    ax.set_xlabel('epoch')
    ax.set_ylabel('test top-1 (%)')
    ax.set_title('Fashion-MNIST: projector-ensemble distillation')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def deploy_student(distill_ckpt: str, student_ckpt: str) -> list:
    """Export the distilled student with its config
    (tools/export_student.py), then to ONNX checked by onnxruntime on the
    test set (tools/deploy_student.py); the report's lines."""
    from projkd_mm.utils.export import (
        SAVED_CONFIG,
        config_path_for,
        export_submodel,
    )
    from projkd_tools.deploy import DeployError, deploy, describe
    export_submodel(distill_ckpt, student_ckpt, config=SAVED_CONFIG)
    onnx_path = osp.splitext(student_ckpt)[0] + '.onnx'
    try:
        figures = deploy(student_ckpt, config_path_for(student_ckpt),
                         onnx_path, log=lambda line: print(f'[deploy] {line}'))
    except DeployError as err:
        return [f'ONNX: not written ({err})']
    return list(describe(onnx_path, figures))


def main(argv=None) -> int:
    args = parse_args(argv)
    from projkd_mm.datasets import DatasetFilesError
    from projkd_mm.utils.export import config_path_for
    from projkd_tools.experiment import loader_options, train_config
    start = time.time()
    try:
        data_root = find_data(args)
    except DatasetFilesError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    print(f'Data: {data_root}\nWork dir: {work_dir}')
    common = loader_options(data_root, args.train_size)
    common.update(schedule_options(args))
    if args.download:
        for loader in ('train', 'val', 'test'):
            common[f'{loader}_dataloader.dataset.download'] = True

    teacher_ckpt = osp.join(work_dir, 'teacher.pth')
    teacher_curve = None
    # Every run below is started over if an earlier demo left one in its
    # work dir (--overwrite): a demo run is the demo's own and is redone
    # whole, so its figures never come from a mix of two runs.
    if osp.isfile(teacher_ckpt):
        print(f'[teacher] reusing {teacher_ckpt}')
    else:
        print('[teacher] training ResNet-14 (CifarResNet, 175k params)')
        run = train_config(TEACHER, osp.join(work_dir, 'teacher'), common,
                           label='[teacher] ', overwrite=True)
        from projkd_mm.utils.export import export_submodel
        export_submodel(run.last_checkpoint, teacher_ckpt, prefix=None)
        teacher_curve = run.top1

    print('[student] training ResNet-8 alone (cross-entropy)')
    alone = train_config(STUDENT, osp.join(work_dir, 'student'), common,
                         label='[student] ', overwrite=True)
    print('[distill] training ResNet-8 with the projector ensemble (q=3)')
    distilled = train_config(
        DISTILLED, osp.join(work_dir, 'distill_ens3'),
        dict(common, **{'model.teacher_ckpt': teacher_ckpt}),
        label='[distill] ', overwrite=True)

    student_ckpt = osp.join(work_dir, 'student_distilled.pth')
    deployed = deploy_student(distilled.last_checkpoint, student_ckpt)
    teacher_top1 = distilled.teacher_top1[-1]
    curves = {'student alone': alone.top1, 'student distilled': distilled.top1}
    curves['teacher'] = teacher_curve or [teacher_top1] * len(distilled.top1)
    png = osp.join(work_dir, 'accuracy_curves.png')
    plot(curves, png)

    print(f'\nFashion-MNIST test top-1 (%), {args.train_size} training '
          f'images, {args.epochs} epochs, seed {args.seed}')
    print(f'{"model":<34}{"final":>8}{"best":>8}')
    print(f'{"teacher ResNet-14":<34}{teacher_top1:>8.2f}'
          f'{max(teacher_curve or [teacher_top1]):>8.2f}')
    print(f'{"student ResNet-8 alone":<34}{alone.final:>8.2f}'
          f'{alone.best:>8.2f}')
    print(f'{"student ResNet-8 + ensemble (q=3)":<34}{distilled.final:>8.2f}'
          f'{distilled.best:>8.2f}')
    print(f'\nTeacher checkpoint: {teacher_ckpt}')
    print(f'Distilled student (plain mmpretrain checkpoint): {student_ckpt}')
    print(f'Its mmpretrain config: {config_path_for(student_ckpt)}')
    for line in deployed:
        print(line)
    print(f'Distillation run (with projectors): {distilled.last_checkpoint}')
    print(f'Accuracy curves: {png}')
    print(f'Total time: {(time.time() - start) / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
