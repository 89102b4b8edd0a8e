"""Study throughput: N runs one after another with all cores, or at once
with a core each?

    python benchmarks/study_jobs.py --teacher-cache DIR [--epochs 1]
        [--methods ens3] [--seeds 10 20] [--teacher-ckpt T.pth]

Runs the same study twice through ``tools/ablation.py --preset full``
(real runs: tools/train.py processes on Fashion-MNIST, the committed
teacher, the given teacher cache): once ``--jobs 1 --threads C`` and once
``--jobs C --threads 1`` (C = the cores), each in its own temporary work
dir, and prints the wall time of each and their ratio. Run it on an
otherwise idle machine.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

from common import REPO, emit, machine_name


def study(jobs: int, threads: int, args, work: str) -> float:
    cmd = [sys.executable, osp.join(REPO, 'tools', 'ablation.py'),
           '--preset', 'full', '--epochs', str(args.epochs), '--work-dir',
           work, '--results', osp.join(work, 'results.json'),
           '--teacher-cache', args.teacher_cache, '--jobs', str(jobs),
           '--threads', str(threads), '--methods', *args.methods,
           '--seeds', *map(str, args.seeds)]
    if args.data_root:
        cmd += ['--data-root', args.data_root]
    if args.teacher_ckpt:
        cmd += ['--teacher-ckpt', args.teacher_ckpt, '--allow-other-teacher']
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--teacher-cache', required=True)
    parser.add_argument('--data-root')
    parser.add_argument('--teacher-ckpt',
                        help='default: the full preset\'s committed teacher')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--methods', nargs='+', default=['ens3'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[10, 20])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    emit(machine=machine_name(), cores=cores, epochs=args.epochs,
         runs=len(args.methods) * len(args.seeds))
    times = {}
    for jobs, threads in ((1, cores), (cores, 1)):
        with tempfile.TemporaryDirectory() as work:
            times[(jobs, threads)] = study(jobs, threads, args, work)
        emit(**{f'jobs{jobs}_threads{threads}_s': times[(jobs, threads)]})
    emit(parallel_over_sequential=times[(cores, 1)] / times[(1, cores)])


if __name__ == '__main__':
    main()
