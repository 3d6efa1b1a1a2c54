#!/usr/bin/env bash
# qaforge run on the same PDF with each backend (1 thread each), timing lines only
cd "$(dirname "$0")/.." && . .venv/bin/activate
PDF=examples/pdfs/home-composting.pdf
M=$(qaforge models path)
rm -rf /tmp/bk; mkdir -p /tmp/bk
echo "== llamacpp"; /usr/bin/time -f "wall %e s" qaforge run $PDF -o /tmp/bk/llamacpp --threads 1 2>&1 | grep -E "generate time|chunks done|refine|dataset rows|^│ time|wall"
python - <<'PY' &
import time, xllamacpp as x, os
p = x.CommonParams(); p.model.path = os.environ.get("M", "") or __import__("qaforge.llm.catalogue", fromlist=["x"]).find_bundled_model().__str__()
p.n_parallel = 4; p.n_ctx = 8192; p.cpuparams.n_threads = 1; p.cpuparams_batch.n_threads = 1; p.port = 18099; p.hostnames = ["127.0.0.1"]
s = x.Server(p); open("/tmp/bk/url", "w").write(s.listening_address); time.sleep(900)
PY
SRV=$!; sleep 5
echo "== openai ($(cat /tmp/bk/url))"; /usr/bin/time -f "wall %e s" qaforge run $PDF -o /tmp/bk/openai --backend openai --base-url "$(cat /tmp/bk/url)/v1" --model smollm2 2>&1 | grep -E "generate time|chunks done|dataset rows|^│ time|wall|error"
kill $SRV
echo "== transformers"; /usr/bin/time -f "wall %e s" qaforge run $PDF -o /tmp/bk/hf --backend transformers --model "$M" --threads 1 2>&1 | grep -E "generate time|chunks done|dataset rows|^│ time|wall|error"
