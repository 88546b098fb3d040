#!/usr/bin/env bash
# Proof that the model checks can fail: switches on each known-bad variant of
# the core (MCP_MUTANT=<name>, compiled into model builds only) and runs the
# model that should catch it, under loom and under shuttle; then each
# known-bad variant of the session engine against the engine's shuttle
# scenarios (loom-tests/shuttle_engine.rs). Prints one line per (bug,
# checker, model) and fails unless every one is caught.
#
# A run that hangs past its timeout is reported as MISSED: a checker must
# report the bug, not just stop.
set -uo pipefail
cd "$(dirname "$0")/.."

export RUST_BACKTRACE=0
export LOOM_MAX_PREEMPTIONS="${MUTANT_LOOM_MAX_PREEMPTIONS:-2}"
export SHUTTLE_ITERATIONS="${MUTANT_SHUTTLE_ITERATIONS:-10000}"
export SHUTTLE_ENGINE_ITERATIONS="${MUTANT_SHUTTLE_ENGINE_ITERATIONS:-10000}"
TIMEOUT=300

# bug | model test that must catch it
CASES=(
    "admit_check_then_act|admission_exact_when_nobody_leaves"
    "admit_check_then_act|admission_never_over_the_limit_while_sessions_leave"
    "release_before_deregister|admission_never_over_the_limit_while_sessions_leave"
    "release_before_deregister|shutdown_races_admission_and_exit"
    "drain_token_after_check|shutdown_races_admission_and_exit"
    "drain_lost_wakeup|shutdown_races_admission_and_exit"
    "closed_outbox_reports_ok|cleanup_races_notify_and_broadcast"
    "closed_outbox_reports_ok|outbox_close_loses_nothing"
    "envelope_drop_uncounted|cleanup_races_notify_and_broadcast"
    "envelope_drop_uncounted|outbox_close_loses_nothing"
    "register_ignores_shutdown|shutdown_races_admission_and_exit"
    "session_id_racy|admission_exact_when_nobody_leaves"
    "tracker_close_wakes_nobody|drain_awaited_elsewhere"
    "receiver_drop_wakes_nobody|receiver_dropped_releases_sender"
    "mailbox_kept_open|http_post_races_delete"
    "mailbox_kept_open|http_post_races_expiry"
    "directory_entry_left|http_post_races_expiry"
    "answer_to_closed_uncounted|stream_drop_races_answer"
    "subscription_left|listen_races_shutdown"
    "task_terminal_overwritten|task_ends_once"
    "task_expiry_keeps_running|task_expiry_stops_its_work"
)

# The session engine's (shuttle only: loom does not build the engine).
ENGINE_CASES=(
    "in_flight_cap_off_by_one|calls_at_the_cap"
    "subscriptions_outlive_session|catalog_and_subscriptions_race"
    "call_untracked_by_drain|client_request_races_session_end"
    "call_untracked_by_drain|shutdown_races_everything"
    "task_work_untracked|tasks_race_cancel_and_shutdown"
    "task_terminal_overwritten|tasks_race_cancel_and_shutdown"
    "cancelled_batch_dropped|listen_races_cancel_and_shutdown"
    "task_expiry_keeps_running|tasks_race_cancel_and_shutdown"
    "client_waits_count_against_cap|client_requests_at_the_cap"
    "answer_overtakes_notification|answers_follow_their_notifications"
    "held_answers_not_flushed|session_end_writes_what_was_answered"
    "answer_dropped_at_session_end|session_end_writes_what_was_answered"
    "engagement_ignored|handshake_cuts_only_the_silent"
    "task_answer_shown_late|task_questions_answered_in_part"
)

caught=0
missed=0
# run_case CHECKER TEST BUG MODEL: runs MODEL of test target TEST with BUG on.
run_case() {
    local checker=$1 test=$2 bug=$3 model=$4
    local log="target/$checker/mutant-$bug-$model.log"
    local start rc ms why
    start=$(date +%s%N)
    MCP_MUTANT="$bug" RUSTFLAGS="--cfg $checker" CARGO_TARGET_DIR="target/$checker" \
        timeout "$TIMEOUT" cargo test --release --test "$test" -- --exact "$model" \
        --test-threads=1 >"$log" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qE "deadlock|panicked|failing schedule" "$log"; then
        why=$(grep -m1 -oE "deadlock|a session [a-z ]+|a permit [a-z ]+|session work [a-z ]+|a message was lost silently|session id [0-9]+ given twice|a session stayed in the directory|a listen stream stayed subscribed|a task ended twice|work goes on for a task nobody can see|Arc leaked|[0-9]+ (sessions live|registered) with max_sessions = [0-9]+|admitted with nobody leaving|[0-9]+ handlers at once|a request is still in flight|an update reached a session that ended|[0-9]+ handlers started, [0-9]+ ended|task ended [a-z]+, then was [a-z]+|a notification before the acknowledgement|answered after [0-9]+ of its [0-9]+ notifications|a request answered at once went unwritten|a message queued for the client was dropped|[0-9]+ answered, the rest not counted as cancelled|an engaged connection was cut at the handshake's deadline|[0-9]+ handshake timeouts counted|after (answering a|both answers)" "$log" | head -1)
        printf "caught  %-8s %-30s by %-52s (%5d ms) %s\n" "$checker" "$bug" "$model" "$ms" "$why"
        caught=$((caught + 1))
    else
        printf "MISSED  %-8s %-30s by %-52s (exit %s; log %s)\n" "$checker" "$bug" "$model" "$rc" "$log"
        missed=$((missed + 1))
    fi
}

for checker in loom shuttle; do
    # Build once per checker; the mutation is chosen at run time.
    RUSTFLAGS="--cfg $checker" CARGO_TARGET_DIR="target/$checker" \
        cargo test --release --no-run --test "${checker}_core" >/dev/null 2>&1 || {
        echo "mutants: the $checker models do not build"; exit 1; }
    for case in "${CASES[@]}"; do
        run_case "$checker" "${checker}_core" "${case%%|*}" "${case##*|}"
    done
done

RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR="target/shuttle" \
    cargo test --release --no-run --test shuttle_engine >/dev/null 2>&1 || {
    echo "mutants: the engine's shuttle scenarios do not build"; exit 1; }
for case in "${ENGINE_CASES[@]}"; do
    run_case shuttle shuttle_engine "${case%%|*}" "${case##*|}"
done
echo "mutants: $caught passed, $missed failed"
[ "$missed" -eq 0 ]
