# Shared by the shell benchmarks (bench/pull.sh, bench/image_pull.sh):
# a docker-registry on a free loopback port, timed runs with a median, and
# ratios to a floor. Source it after setting WORK (a scratch directory).

# bench_need SCRIPT TOOL...: stop with the apt-get line when a tool is missing.
bench_need() {
    local script="$1"; shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: $tool is missing (apt-get install docker-registry curl python3 gzip tar skopeo time)" >&2; exit 1; }
    done
}

# bench_start_registry: serve $WORK/registry on 127.0.0.1:$PORT; sets PORT
# and REG_PID (bench_cleanup stops it).
bench_start_registry() {
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    mkdir -p "$WORK/registry"
    cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: 127.0.0.1:$PORT
  secret: bench-secret
health:
  storagedriver:
    enabled: false
YML
    # Keep the registry's own environment overrides out.
    env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
    REG_PID=$!
    for _ in $(seq 1 250); do
        curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break
        sleep 0.02
    done
    curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null || { echo "registry did not start:"; cat "$WORK/registry.log"; exit 1; }
}

# bench_cleanup: stop the registry, remove $WORK (an EXIT trap).
bench_cleanup() {
    if [ -n "${REG_PID:-}" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}

# bench_run KEY CMD...: RUNS runs of CMD, each after `bench_fresh` (define
# it: empty the destinations); the median by wall time goes to RESULT[KEY]
# as "wall user sys" (CPU of CMD and every child it waited for).
declare -A RESULT
bench_run() {
    local key="$1"; shift
    local times=()
    for _ in $(seq 1 "$RUNS"); do
        bench_fresh
        /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { echo "$key failed:"; cat "$WORK/err"; exit 1; }
        times+=("$(tail -n1 "$WORK/time")")
    done
    RESULT[$key]="$(printf '%s\n' "${times[@]}" | sort -n -k1,1 | sed -n "$(( (RUNS + 1) / 2 ))p")"
    local w u s; read -r w u s <<<"${RESULT[$key]}"
    printf '  %-16s wall %6ss  cpu %6ss (user %s, sys %s)   runs: %s\n' "$key" "$w" "$(python3 -c "print(f'{$u+$s:.2f}')")" "$u" "$s" "$(printf '%s\n' "${times[@]}" | cut -d' ' -f1 | paste -sd' ')"
}

# bench_ratio KEY FLOOR_KEY wall|cpu: KEY's median over the floor's.
bench_ratio() {
    python3 - "${RESULT[$1]}" "${RESULT[$2]}" "$3" <<'PY'
import sys
b, a = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()]
x, y = (b[0], a[0]) if sys.argv[3] == "wall" else (b[1] + b[2], a[1] + a[2])
print(f"{x / y:.2f}" if y > 0 else "inf")
PY
}

# bench_podman_runtime DIR: print the --runtime Podman needs on this
# machine. Podman (4.x) asks runc for RLIMIT_NOFILE 1048576 and
# RLIMIT_NPROC 4194304; where the hard limits are lower and cannot be
# raised (no CAP_SYS_RESOURCE, as in some sandboxes) runc refuses every
# container. The wrapper written to DIR lowers the spec's rlimits to the
# hard limits at `create` and `exec` and runs runc; it costs Podman one python3 start
# per container (~30 ms), which the figures then include. Prints nothing
# when runc can be used as it is.
bench_podman_runtime() {
    local dir="$1"
    if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -ge 1048576 ] \
        && [ "$(ulimit -Hu)" = unlimited -o "$(ulimit -Hu)" -ge 4194304 ] 2>/dev/null; then
        return 0
    fi
    cat >"$dir/runc-clamp" <<'SH'
#!/bin/bash
prev=""
for a in "$@"; do
    f=""
    case "$prev" in
        --bundle|-b) f="$a/config.json" ;;
        --process|-p) f="$a" ;;
    esac
    if [ -n "$f" ]; then
        python3 - "$f" <<'PY'
import json, resource, sys
p = sys.argv[1]
spec = json.load(open(p))
names = {"RLIMIT_NOFILE": resource.RLIMIT_NOFILE, "RLIMIT_NPROC": resource.RLIMIT_NPROC}
# A bundle's config.json, or an exec's process document.
for r in spec.get("process", spec).get("rlimits", []):
    if r["type"] in names:
        hard = resource.getrlimit(names[r["type"]])[1]
        if hard != resource.RLIM_INFINITY:
            r["hard"] = min(r["hard"], hard)
            r["soft"] = min(r["soft"], r["hard"])
json.dump(spec, open(p, "w"))
PY
    fi
    prev="$a"
done
exec runc "$@"
SH
    chmod +x "$dir/runc-clamp"
    echo "$dir/runc-clamp"
}
