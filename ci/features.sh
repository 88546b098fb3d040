#!/usr/bin/env bash
# The crate compiles only what its user needs: the library builds with no
# default features and with each feature alone, and without default
# features none of the binaries' or the optional backends' dependencies
# is in its tree. `cargo doc` builds without warnings. Its own target
# directory, so the ordinary build is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/features

tree=$(cargo tree -p mcp-server-core -e normal --no-default-features --prefix none)
for heavy in clap indicatif anyhow tracing-subscriber redis prometheus-client hyper tokio-rustls jsonwebtoken webpki-roots; do
    if grep -q "^$heavy v" <<<"$tree"; then
        echo "features: $heavy is a dependency of the library without default features" >&2
        exit 1
    fi
done
for features in "" http tls metrics redis-bus "http,metrics" "auth,metrics"; do
    echo "== cargo check --lib --no-default-features --features '$features'"
    RUSTFLAGS="-D warnings" cargo check --quiet --lib --no-default-features --features "$features"
done
echo "== cargo doc --no-deps"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps
echo "features: ok"
