"""ONNX export of an exported student, kept only once onnxruntime agrees.

:func:`deploy` builds the classifier of a plain mmpretrain config (such as
the ``OUT.py`` of ``tools/export_student.py``), loads its weights strictly,
exports ``pixels -> logits`` with torch's ``torch.export``-based ONNX
exporter (``dynamo=True``) at opset :data:`OPSET`, batch size dynamic, and
runs the file with onnxruntime on CPU over the config's test set. The file
appears under its name only when the largest logit difference to PyTorch is
at most ``max_logit_diff`` (:data:`MAX_LOGIT_DIFF`) and every top-1 agrees;
until then it is a temporary file in the same folder, removed on any
failure.

The graph's input is what the config's test pipeline packs (``PackInputs``)
and the model's data preprocessor receives: float32 pixels in 0-255,
``(batch, C, H, W)``; its normalisation (mean, std, channel order) is in
the graph. The output is the head's logits, ``(batch, num_classes)``.
"""
import os
import os.path as osp
import re
import tempfile
from typing import Callable, Dict, Optional, Tuple

#: ONNX opset of the export: torch 2.14's ONNX functions (torchlib) target
#: opset 18.
OPSET = 18
#: Largest |logit difference| to PyTorch a deployed file may have.
MAX_LOGIT_DIFF = 1e-4
INPUT_NAME = 'inputs'
OUTPUT_NAME = 'logits'


class DeployError(RuntimeError):
    """An input, export or check failed; no ONNX file was left behind."""


def require_deploy_extra():
    """onnxruntime, with onnx and onnxscript that the exporter needs."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise DeployError(
            f'ONNX deployment needs the deploy extra ({err.name} is not '
            "installed): pip install -e '.[deploy]'") from None
    return onnxruntime


def logits_model(classifier):
    import torch

    class Logits(torch.nn.Module):
        """Pixels ``(N, C, H, W)`` in 0-255 -> the classifier's data
        preprocessor -> backbone, neck, head -> logits ``(N, classes)``."""

        def __init__(self, classifier):
            super().__init__()
            self.classifier = classifier

        def forward(self, inputs):
            preprocessor = self.classifier.data_preprocessor
            inputs = preprocessor({'inputs': inputs})['inputs']
            return self.classifier(inputs, mode='tensor')

    return Logits(classifier).eval()


def load_classifier(checkpoint: str, config: str):
    """The model of ``config`` holding the weights of ``checkpoint``.

    Raises:
        DeployError: A distillation config, or a checkpoint with no student
            or with weights that do not fit the config (naming the keys).
    """
    from mmengine.config import Config

    from projkd_mm.utils.export import build_classifier
    from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
    from projkd_mm.utils.state_dict import (
        STUDENT_PREFIX,
        extract_state_dict,
        load_state_dict_strict,
    )
    from projkd_tools.checkpoint_diagnostics import describe_checkpoint
    cfg = Config.fromfile(config)
    if 'architecture' in cfg.get('model', {}):
        raise DeployError(
            f'{config} is a distillation config; deployment takes the '
            'student alone: python tools/export_student.py CKPT student.pth '
            '(writes student.py too), then deploy student.pth with '
            '--config student.py.')
    try:
        state_dict = extract_state_dict(
            load_checkpoint_file(checkpoint, 'checkpoint to deploy'),
            f'checkpoint {checkpoint!r}')
        tops = {key.split('.', 1)[0] for key in state_dict}
        if tops == {'teacher'}:
            raise DeployError(
                f'{checkpoint!r} holds no student: all its weights are '
                "under 'teacher.'. Deploy the student exported from the "
                'distillation run: python tools/export_student.py '
                'work_dir/epoch_N.pth student.pth.')
        if STUDENT_PREFIX.rstrip('.') in tops:
            raise DeployError(
                f'{checkpoint!r} is {describe_checkpoint(state_dict)}: '
                'export its student first: python tools/export_student.py '
                f'{checkpoint} student.pth, then deploy student.pth with '
                '--config student.py.')
        model = build_classifier(cfg)
        load_state_dict_strict(
            model, state_dict,
            f'checkpoint {checkpoint!r} with --config {config} (no ONNX '
            'file was written)')
    except CheckpointError as err:
        raise DeployError(str(err)) from None
    return model.eval(), cfg


def evaluation_images(cfg, data_root: Optional[str] = None):
    """The config's test images as the test pipeline packs them.

    Returns:
        tuple: ``uint8`` tensor ``(N, C, H, W)``, and a description of the
        set for the report.
    """
    import warnings

    import torch
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    loader = cfg.get('test_dataloader') or {}
    dataset_cfg = loader.get('dataset')
    if not dataset_cfg:
        raise DeployError(
            'The config has no test_dataloader.dataset to check the ONNX '
            'file on: use the config tools/export_student.py writes, which '
            'has one.')
    dataset_cfg = dict(dataset_cfg)
    if data_root is not None:
        dataset_cfg['data_root'] = data_root
    try:
        with DefaultScope.overwrite_default_scope('mmpretrain'), \
                warnings.catch_warnings():
            # mmpretrain's MNIST reader wraps a read-only numpy buffer.
            warnings.filterwarnings('ignore', message='The given NumPy array')
            dataset = DATASETS.build(dataset_cfg)
    except Exception as err:
        raise DeployError(
            f'Could not build the evaluation set {dataset_cfg["type"]} '
            f'(data_root={dataset_cfg.get("data_root")!r}): {err}. Point '
            '--data-root at the dataset.') from None
    images = torch.stack([dataset[i]['inputs'] for i in range(len(dataset))])
    if images.dim() == 3:
        images = images[:, None]
    where = f'{dataset_cfg["type"]}, data_root={dataset_cfg.get("data_root")}'
    return images, where


def _unexportable(err: Exception) -> str:
    """The operation an exporter error names, in a line."""
    text = str(err)
    op = re.search(r"No ONNX function found for <OpOverload\(op='([^']+)'",
                   text)
    if op:
        return f'it has no ONNX translation for the operation {op.group(1)}'
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    summary = next((line for line in lines if line.startswith('<class')),
                   lines[0] if lines else type(err).__name__)
    return re.sub(r'\x1b\[[0-9;]*m', '', summary)


def export_onnx(model, sample, config: str):
    """``torch.onnx.export`` of ``model`` (an :class:`ONNXProgram`), batch
    size dynamic."""
    import warnings

    import torch
    batch = torch.export.Dim('batch', min=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return torch.onnx.export(
                model, (sample, ), dynamo=True, opset_version=OPSET,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: batch}, ), verbose=False)
    except Exception as err:
        raise DeployError(
            f'ONNX cannot export the model of {config}: '
            f'{_unexportable(err)}. Replace that operation in the model, or '
            'give torch.onnx.export a translation for it '
            '(custom_translation_table). No ONNX file was written.') from None


def compare(onnx_path: str, model, images, batch_size: int = 500) -> Dict:
    """Logits of onnxruntime (CPU) against PyTorch's on ``images``.

    Returns:
        dict: ``max_abs_diff``, ``agree`` (images with the same top-1),
        ``images``, ``num_classes``.
    """
    import torch
    onnxruntime = require_deploy_extra()
    session = onnxruntime.InferenceSession(
        onnx_path, providers=['CPUExecutionProvider'])

    def logits(x):
        with torch.no_grad():
            expected = model(x)
        got = torch.from_numpy(session.run(
            [OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0])
        if got.shape != expected.shape:
            raise DeployError(
                f'onnxruntime returned logits of shape {tuple(got.shape)} '
                f'for a batch of {len(x)}, PyTorch {tuple(expected.shape)}.')
        return got, expected

    # A batch of one first: the file takes any batch size, not only the
    # batch it was traced with.
    got, expected = logits(images[:1].float())
    max_diff, agree = float((got - expected).abs().max()), 0
    for start in range(0, len(images), batch_size):
        got, expected = logits(images[start:start + batch_size].float())
        max_diff = max(max_diff, float((got - expected).abs().max()))
        agree += int((got.argmax(1) == expected.argmax(1)).sum())
    return dict(max_abs_diff=max_diff, agree=agree, images=len(images),
                num_classes=int(expected.shape[1]))


def _check_paths(checkpoint: str, config: str, onnx_path: str) -> None:
    if osp.isdir(onnx_path):
        raise DeployError(
            f'The output {onnx_path!r} is a directory: give a file name, '
            f'e.g. {osp.join(onnx_path, "student.onnx")!r}.')
    for name, path in (('checkpoint', checkpoint), ('config', config)):
        if osp.abspath(path) == osp.abspath(onnx_path) or (
                osp.exists(onnx_path) and osp.exists(path)
                and osp.samefile(path, onnx_path)):
            raise DeployError(
                f'The output {onnx_path!r} is the input {name}: give another '
                'file name, e.g. student.onnx.')
    folder = osp.dirname(osp.abspath(onnx_path))
    if not osp.isdir(folder):
        raise DeployError(f'The folder of the output, {folder!r}, does not '
                          'exist: create it first.')


def deploy(checkpoint: str, config: str, onnx_path: str,
           data_root: Optional[str] = None,
           max_logit_diff: float = MAX_LOGIT_DIFF,
           log: Callable[[str], None] = print) -> Dict:
    """Export ``checkpoint`` of ``config`` to ``onnx_path``, checked.

    Args:
        checkpoint (str): Plain classifier weights (``tools/
            export_student.py``'s ``OUT.pth``).
        config (str): Its plain mmpretrain config (``OUT.py``).
        onnx_path (str): Where the ONNX file goes.
        data_root (str, optional): Replaces the test dataset's
            ``data_root`` of the config.
        max_logit_diff (float): Largest |logit difference| to PyTorch
            accepted.
        log (callable): Where progress lines go.

    Returns:
        dict: The figures of :func:`compare`, plus ``opset``, ``bytes``,
        ``eval_set``, ``input_shape``.

    Raises:
        DeployError: Bad input, an operation ONNX cannot export, or
            disagreement; ``onnx_path`` is then left as it was.
    """
    _check_paths(checkpoint, config, onnx_path)
    require_deploy_extra()
    classifier, cfg = load_classifier(checkpoint, config)
    images, eval_set = evaluation_images(cfg, data_root)
    model = logits_model(classifier)
    program = export_onnx(model, images[:2].float(), config)
    folder, name = osp.split(osp.abspath(onnx_path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp',
                               dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for secrets
    try:
        program.save(tmp, external_data=False)
        log(f'Exported to ONNX (opset {OPSET}): pixels (batch, '
            f'{", ".join(map(str, images.shape[1:]))}) -> logits; checking '
            f'it with onnxruntime on {len(images)} images ({eval_set})')
        figures = compare(tmp, model, images)
        if (figures['max_abs_diff'] > max_logit_diff
                or figures['agree'] != figures['images']):
            raise DeployError(
                'onnxruntime disagrees with PyTorch on '
                f'{eval_set}: max |logit diff| '
                f'{figures["max_abs_diff"]:.3g} (at most {max_logit_diff:g} '
                f'accepted), top-1 agreement {figures["agree"]}/'
                f'{figures["images"]}. The ONNX file was not kept: check '
                'the model for operations whose export changes results '
                '(e.g. training-mode layers), or another opset.')
        figures.update(opset=OPSET, bytes=osp.getsize(tmp),
                       eval_set=eval_set,
                       input_shape=tuple(images.shape[1:]))
        os.replace(tmp, onnx_path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return figures


def describe(onnx_path: str, figures: Dict) -> Tuple[str, str]:
    """The two report lines: the file, and its check."""
    import onnxruntime
    shape = ', '.join(str(n) for n in figures['input_shape'])
    agree = figures['agree'] / figures['images'] * 100
    return (f'ONNX: {onnx_path} ({figures["bytes"] / 1024:.1f} KiB, opset '
            f'{figures["opset"]}): input {INPUT_NAME!r} float32 (batch, '
            f'{shape}), pixels 0-255; output {OUTPUT_NAME!r} (batch, '
            f'{figures["num_classes"]})',
            f'Checked with onnxruntime {onnxruntime.__version__} (CPU) '
            f'against PyTorch on {figures["images"]} images '
            f'({figures["eval_set"]}): max |logit diff| '
            f'{figures["max_abs_diff"]:.2e}, top-1 agreement {agree:.2f} % '
            f'({figures["agree"]}/{figures["images"]})')
