#!/usr/bin/env bash
# One prepared GPU check (issue #4): training images/s on CUDA against a bare loop, a pretraining
# run at a larger scale with GPU utilisation sampled every half second, and notebook 02's code
# at the small scale on CUDA. Meant for a lent GPU machine that has PyTorch, timm, pandas,
# pyarrow, scikit-learn and matplotlib but may lack jupyter: the notebook's code cells are run as
# a script (IPython magics dropped, figures not shown). Sized for about 8 minutes on one H100,
# an estimate: it has not yet run on a GPU.
#
#     OUT=runs/gpu_check bash benchmarks/gpu_check.sh          # writes OUT/gpu_check.txt, OUT/gpu_util.csv
#
# Sizes can be lowered to try the script on a CPU:
#     N=600 EPOCHS=1 BATCH=32 BENCH_N=256 DEVICE=cpu NB_SCALE=tiny bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_check}
N=${N:-20000}            # galaxies simulated for the pretraining run
EPOCHS=${EPOCHS:-3}
BATCH=${BATCH:-256}
BENCH_N=${BENCH_N:-8192} # galaxies in the training-loop benchmark
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python3}
export NB_SCALE=${NB_SCALE:-small}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GALZOO_OFFLINE=1 HF_HUB_OFFLINE=1
export GALZOO_CACHE=${GALZOO_CACHE:-/tmp/galzoo-gpu-cache} MPLBACKEND=Agg
exec > >(tee "$OUT/gpu_check.txt") 2>&1

echo "== device"
$PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA')"
sampler=""
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 \
        > "$OUT/gpu_util.csv" &
    sampler=$!
    trap 'kill $sampler 2>/dev/null || true' EXIT
fi
mark() { date +%s.%N > "$OUT/mark_$1"; }

echo "== training loop vs bare loop ($DEVICE, 128 px, batch $BATCH)"
$PY benchmarks/bench_training.py --device "$DEVICE" --size 128 --batch "$BATCH" --n "$BENCH_N"

echo "== galzoo pretrain: $N simulated galaxies, 128 px, $EPOCHS epochs, batch $BATCH"
$PY -m galzoo_tools.cli simulate --n "$N" --size 128 --seed 0 --out "$GALZOO_CACHE/universe_n$N" > /dev/null
mark start
$PY -m galzoo_tools.cli pretrain --catalog "$GALZOO_CACHE/universe_n$N/catalog.parquet" --scale small \
    --image-size 128 --epochs "$EPOCHS" --batch-size "$BATCH" --init scratch --seed 0 --quiet --out "$OUT/pretrain"
mark end
$PY - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
metrics = json.loads((out / "pretrain" / "metrics.json").read_text())
print(f"pretrain: {metrics['images_per_second']:.0f} training images/s on {metrics['device']}, "
      f"val loss {metrics['val_loss']:.2f}, vote MAE {metrics['vote_mae']:.3f}")
util = out / "gpu_util.csv"
if util.exists() and util.stat().st_size:
    from datetime import datetime
    start, end = (float((out / f"mark_{m}").read_text()) for m in ("start", "end"))
    rows = [line.split(", ") for line in util.read_text().splitlines() if line.count(",") == 2]
    busy = [(float(u), float(m)) for t, u, m in rows
            if start <= datetime.strptime(t, "%Y/%m/%d %H:%M:%S.%f").timestamp() <= end]
    if busy:
        print(f"GPU utilisation during pretrain: mean {sum(u for u, _ in busy) / len(busy):.0f}%, "
              f"memory up to {max(m for _, m in busy):.0f} MiB ({len(busy)} samples)")
EOF

echo "== notebook 02 at the $NB_SCALE scale, as a script"
$PY - <<'EOF'
import json, os, time
os.environ["GALZOO_SCALE"] = os.environ["NB_SCALE"]
cells = json.load(open("notebooks/02_pretraining.ipynb"))["cells"]
code = ["\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))
        for c in cells if c["cell_type"] == "code"]
start = time.perf_counter()
scope = {"__name__": "__main__"}
for i, source in enumerate(code):
    try:
        exec(compile(source, f"02_pretraining cell {i}", "exec"), scope)
    except ModuleNotFoundError as err:
        print(f"cell {i} needs {err.name}, which is not installed here; stopping the notebook run")
        break
print(f"notebook 02 code: {time.perf_counter() - start:.0f} s")
EOF
echo "== done"
