#!/usr/bin/env bash
# One GPU, synthetic data, under 12 minutes: images/s of the ResNet34 ->
# ResNet18 projector-ensemble step at batch 256 in fp32 and bf16 (also
# bf16 + channels_last, and compiled), next to student-only training and to
# the limit (teacher inference + student step); the same with the frozen
# teacher alone in bf16 + channels_last (model.teacher_dtype /
# teacher_memory_format; the student in fp32, then in bf16); then the
# fused-ensemble benchmark.
#
#   benchmarks/gpu.sh                                   # on the GPU machine
#   benchmarks/gpu.sh --device cpu --steps 2 --batch 8  # CPU smoke test
#
# Extra arguments go to every benchmarks/throughput.py run. Output:
# name=value lines and one verdict= line per run (see docs/benchmarks.md).
# Each run has its own time limit, so a slow one cannot eat the budget.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python

device=cuda
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    [ "${args[$i]}" = --device ] && device=${args[$((i + 1))]}
done
status=0
run() {  # run LIMIT_SECONDS COMMAND...
    local limit=$1
    shift
    timeout "$limit" "$@" || { echo "failed=$* (exit $?)"; status=1; }
}

"$PYTHON" -c "import torch; print('gpu=' + (torch.cuda.get_device_name().replace(' ', '_') if torch.cuda.is_available() else 'none'))"
defaults=(--device "$device" --batch 256 --steps 30)
cheap="--teacher-dtype bf16 --teacher-memory-format channels_last"
for precision in "--amp none" "--amp bf16" "--amp bf16 --channels-last" \
        "--amp none $cheap" "--amp bf16 --channels-last $cheap"; do
    # shellcheck disable=SC2086
    run 100 "$PYTHON" benchmarks/throughput.py "${defaults[@]}" $precision "$@"
done
if [ "$device" != cpu ]; then
    run 45 "$PYTHON" benchmarks/ensemble.py --device "$device"
    # Last: compilation takes minutes; the figures above stand without it.
    run 120 "$PYTHON" benchmarks/throughput.py "${defaults[@]}" --amp bf16 \
        --channels-last --compile "$@"
fi
exit $status
