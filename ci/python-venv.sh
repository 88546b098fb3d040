# Sourced by the scripts that run the official Python SDK: makes ci/.venv
# with the pinned `mcp` the first time (or when the pin changes) and sets
# VENV to it.
MCP_VERSION="${MCP_PYTHON_SDK_VERSION:-2.3.0}"
VENV=ci/.venv
if ! "$VENV/bin/python" -c "import mcp, sys; sys.exit(0)" 2>/dev/null \
    || [ "$("$VENV/bin/pip" show mcp 2>/dev/null | awk '/^Version:/{print $2}')" != "$MCP_VERSION" ]; then
    echo "python-sdk: installing mcp==$MCP_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "mcp==$MCP_VERSION"
fi
