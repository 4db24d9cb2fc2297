#!/usr/bin/env bash
# One GPU run of the project's training code, sized to finish in about ten minutes (BUDGET) on an H100/H200:
#   1. training images/s on CUDA against a bare forward+backward+step loop, with batches from a
#      DataLoader and from images kept on the GPU (fit's default there since 2026-11-27);
#   2. the next reference-model stage: `galzoo pretrain` continues the committed reference model on
#      N new synthetic galaxies of the realistic sky (SURVEY=mixed: DECaLS and SDSS looks in turn)
#      for as many epochs as the time left allows, with GPU utilisation sampled every half second
#      and printed for the whole stage and for its middle (without its first 45 s and last 20 s);
#   3. notebook 02's code at the small scale on CUDA, if time is left.
# It ran on an H200 on 2026-11-26 (N=250000, seed 4: the stage-3 reference model) and on an H100
# on 2026-11-27 (N=150000, seed 5, BUDGET=545: stage 4, which stage 5, the current reference
# model, continued on a CPU);
# galzoo_tools/data/reference_model/README.md records what each measured.
# Meant for a machine that has PyTorch, timm, pandas, pyarrow, scikit-learn and matplotlib but
# may lack jupyter: the notebook's code cells are run as a script (IPython magics dropped).
#
#     OUT=runs/gpu_check bash benchmarks/gpu_check.sh
#
# writes OUT/gpu_check.txt (the log), OUT/gpu_util.csv and OUT/next_stage.tar.gz (the new model,
# metrics.json, history.json, split.csv). Sizes can be lowered to try the script on a CPU:
#     N=600 BENCH_N=256 BATCH=32 BUDGET=240 DEVICE=cpu NB_SCALE=tiny bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_check}
N=${N:-150000}           # galaxies simulated for the next stage (80% train)
SEED=${SEED:-9}          # a universe seed no earlier stage used (stages 1-5 used 0, 2, 4, 5 and 8)
SURVEY=${SURVEY:-mixed}  # the sky: decals, sdss or mixed
BATCH=${BATCH:-512}      # the bare loop ran 1.43 x faster at 512 than at 256 on an H100
LR=${LR:-8e-4}
BENCH_N=${BENCH_N:-16384}
BUDGET=${BUDGET:-530}    # seconds for the whole script; training gets what is left after the rest
MAX_EPOCHS=${MAX_EPOCHS:-20}
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python3}
export NB_SCALE=${NB_SCALE:-small}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GALZOO_OFFLINE=1 HF_HUB_OFFLINE=1
export GALZOO_CACHE=${GALZOO_CACHE:-/tmp/galzoo-gpu-cache} MPLBACKEND=Agg TQDM_MININTERVAL=15
RUN=${RUN:-/tmp/galzoo-next-stage}
exec > >(tee "$OUT/gpu_check.txt") 2>&1
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }

echo "== device"
$PY -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__,
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA')"
echo "cores: $(nproc); $(grep MemTotal /proc/meminfo)"
sampler=""
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 \
        > "$OUT/gpu_util.csv" &
    sampler=$!
    trap 'kill $sampler 2>/dev/null || true' EXIT
fi
mark() { date +%s.%N > "$OUT/mark_$1"; }

echo "== training loop vs bare loop ($DEVICE, 128 px, batch $BATCH, $BENCH_N galaxies) at $(elapsed) s"
$PY benchmarks/bench_training.py --device "$DEVICE" --size 128 --batch "$BATCH" --n "$BENCH_N" \
    --bare-batches $(( BATCH * 2 )) $(( BATCH * 4 )) | tee /tmp/bench.txt
rate=$(awk '/^galzoo fit, data on device \(epoch 2\)/ {print int($(NF-1))}' /tmp/bench.txt)
rate=${rate:-2000}

echo "== simulating $N $SURVEY galaxies (seed $SEED) at $(elapsed) s"
universe="$GALZOO_CACHE/universes/n${N}_size128_seed${SEED}_${SURVEY}"
[[ -f "$universe/catalog.parquet" ]] ||   # a rerun on a warm machine reuses it
    $PY -m galzoo_tools.cli simulate --n "$N" --size 128 --seed "$SEED" --survey "$SURVEY" --out "$universe" --quiet
n_train=$(( N * 8 / 10 ))
# besides training: decoding every PNG into memory (~2,000 images/s on an H200 machine), a
# validation pass per epoch, the final evaluation and packing
left=$(( BUDGET - $(elapsed) - 60 - N / 1500 ))
epochs=$(( left * rate * 80 / 100 / n_train ))
epochs=$(( epochs < 1 ? 1 : (epochs > MAX_EPOCHS ? MAX_EPOCHS : epochs) ))
echo "== next stage at $(elapsed) s: $left s left at ~$rate images/s -> $epochs epochs of $n_train galaxies"
mark start
timeout $(( BUDGET + 20 - $(elapsed) )) $PY -m galzoo_tools.cli pretrain --simulate "$N" --survey "$SURVEY" --seed "$SEED" --scale small --image-size 128 \
    --epochs "$epochs" --batch-size "$BATCH" --lr "$LR" --init reference --half \
    --out "$RUN" --overwrite || echo "next stage FAILED"
mark end
if [[ ! -f "$RUN/history.json" && -f "$RUN/last_checkpoint.pt" ]]; then   # stopped before its evaluation
    $PY -c "import json, sys, torch; s = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
json.dump(s['history'], open(sys.argv[2], 'w'), indent=1)" "$RUN/last_checkpoint.pt" "$RUN/history.json"
fi
tar -C "$RUN" --exclude last_checkpoint.pt -czf "$OUT/next_stage.tar.gz" . || echo "packing next stage FAILED"
$PY - "$OUT" "$RUN" <<'EOF'
import json, sys
from pathlib import Path
out, run = Path(sys.argv[1]), Path(sys.argv[2])
if (run / "metrics.json").exists():
    m = json.loads((run / "metrics.json").read_text())
    print(f"next stage: {m['images_per_second']:.0f} training images/s on {m['device']}, {m['epochs_run']} epochs, "
          f"{m.get('cache_seconds', 0):.0f} s decoding images first, val loss {m['val_loss']:.3f}, vote MAE {m['vote_mae']:.4f} (oracle {m['oracle_vote_mae']:.4f}, "
          f"{m['vote_mae'] / m['oracle_vote_mae']:.2f} x)")
util = out / "gpu_util.csv"
if util.exists() and util.stat().st_size:
    from datetime import datetime
    start, end = (float((out / f"mark_{m}").read_text()) for m in ("start", "end"))
    rows = [line.split(", ") for line in util.read_text().splitlines() if line.count(",") == 2]
    busy = [(float(u), float(m)) for t, u, m in rows
            if start <= datetime.strptime(t, "%Y/%m/%d %H:%M:%S.%f").timestamp() <= end]
    if busy:
        print(f"GPU utilisation during next stage (caching and evaluation included): mean "
              f"{sum(u for u, _ in busy) / len(busy):.0f}%, memory up to {max(m for _, m in busy):.0f} MiB "
              f"({len(busy)} samples)")
        middle = [u for t, u, _ in rows
                  if start + 45 <= datetime.strptime(t, "%Y/%m/%d %H:%M:%S.%f").timestamp() <= end - 20]
        if middle:
            print(f"GPU utilisation in the middle of the stage (first 45 s and last 20 s left out): mean "
                  f"{sum(float(u) for u in middle) / len(middle):.0f}% ({len(middle)} samples; the aim is >= 85%)")
EOF

nb_time=$(( BUDGET + 40 - $(elapsed) ))
echo "== notebook 02 at the $NB_SCALE scale, as a script, at $(elapsed) s ($nb_time s allowed)"
if (( nb_time > 20 )); then
timeout "$nb_time" $PY - <<'EOF' || echo "notebook 02 stopped (time limit or error)"
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
    print(f"cell {i} done at {time.perf_counter() - start:.0f} s")
print(f"notebook 02 code: {time.perf_counter() - start:.0f} s")
EOF
fi
echo "== done at $(elapsed) s"
