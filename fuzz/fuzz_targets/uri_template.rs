//! The URI template matcher of `resources/read` (`{var}` and `{+var}`): any
//! template and URI give an answer (libFuzzer's timeout catches a matcher
//! that takes super-linear time), every variable it names is one of the
//! template's, a `{var}` value never holds `/`, `?` or `#`, and a template
//! without variables matches exactly its own text.
//!
//! Input: template and URI, split at the first 0 byte.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::template_matches;

fuzz_target!(|input: &[u8]| {
    let Some(split) = input.iter().position(|b| *b == 0) else {
        return;
    };
    let (Ok(template), Ok(uri)) = (
        std::str::from_utf8(&input[..split]),
        std::str::from_utf8(&input[split + 1..]),
    ) else {
        return;
    };
    let matched = template_matches(template, uri);
    if !template.contains('{') {
        assert_eq!(matched.is_some(), template == uri);
    }
    if let Some(vars) = matched {
        for name in vars.keys() {
            assert!(
                template.contains(&format!("{{{name}}}")) || template.contains(&format!("{{+{name}}}")),
                "variable {name:?} is not in {template:?}"
            );
        }
    }
});
