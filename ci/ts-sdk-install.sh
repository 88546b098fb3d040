# Sourced: installs the official MCP TypeScript SDK (npm package
# @modelcontextprotocol/sdk, MCP_TS_SDK_VERSION or the pinned version) into
# ci/interop/node_modules unless that version is already there, and sets
# DIR=ci/interop. Run from the repository's root.
SDK_VERSION="${MCP_TS_SDK_VERSION:-1.32.2}"
DIR=ci/interop
installed=$(node -e "console.log(require('./$DIR/node_modules/@modelcontextprotocol/sdk/package.json').version)" 2>/dev/null || true)
if [ "$installed" != "$SDK_VERSION" ]; then
    echo "ts-sdk: installing @modelcontextprotocol/sdk@$SDK_VERSION into $DIR/node_modules"
    npm install --silent --no-save --no-package-lock --prefix "$DIR" "@modelcontextprotocol/sdk@$SDK_VERSION" >/dev/null
fi
