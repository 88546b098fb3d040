//! The task table's races: a task finishing, cancelled and expiring at
//! once.

use super::*;

/// **A task ends once, and no work outlives its task.** A task is running;
/// one thread finishes it, one cancels it, one polls it past its TTL (which
/// expires it), and one closes the table (shutdown) while a last task is
/// being created.
///
/// - The first terminal status wins: if the cancel saw itself take effect,
///   the task is cancelled for good, whatever the finish did after.
/// - Every task that left the table, and every task of a closed table, has
///   its token cancelled; a create after the close is refused.
///
/// Catches `task_terminal_overwritten` (a finish overwrites a cancel) and
/// `task_expiry_keeps_running` (expiry drops the task but not its work).
pub fn tasks_race(expire: bool) {
    let root = CancellationToken::new();
    let table = Arc::new(TaskTable::new(2, "t"));
    let token = root.child_token();
    let id = table.create(&token, 0, 10).expect("room for the first task");
    let finisher = {
        let (table, id) = (Arc::clone(&table), id.clone());
        thread::spawn(move || table.set(&id, TaskStatus::Completed(serde_json::json!({})), 5))
    };
    let canceller = {
        let (table, id) = (Arc::clone(&table), id.clone());
        thread::spawn(move || table.cancel(&id, 6).map(|s| s.status))
    };
    let closer = {
        let (table, root) = (Arc::clone(&table), root.clone());
        thread::spawn(move || {
            // Polling past the TTL expires the first task (and would
            // create nothing); then a second task races the close.
            let now = if expire { 100 } else { 7 };
            let _ = table.get(&id_of_nothing(), now);
            let second_token = root.child_token();
            let second = table.create(&second_token, now, 10).map(|_| second_token);
            table.close();
            second
        })
    };
    let finished = finisher.join().unwrap();
    let cancelled = canceller.join().unwrap();
    let second = closer.join().unwrap();
    let now = if expire { 100 } else { 7 };
    match table.get(&id, now).map(|s| s.status) {
        Some(status) => {
            if cancelled == Some(TaskStatus::Cancelled) {
                assert_eq!(
                    status,
                    TaskStatus::Cancelled,
                    "a task ended twice (finish {finished})"
                );
            }
            assert!(status.is_terminal());
        }
        None => assert!(expire, "the task vanished without expiring"),
    }
    // The cancel, the expiry or the close stopped the first task's work.
    assert!(token.is_cancelled(), "work goes on for a task nobody can see");
    match second {
        Ok(second_token) => assert!(
            second_token.is_cancelled(),
            "a task outlived the close of its table"
        ),
        Err(refusal) => assert!(matches!(refusal, TaskRefusal::Closed | TaskRefusal::Full(_))),
    }
    assert_eq!(
        table.create(&root.child_token(), now, 10).unwrap_err(),
        TaskRefusal::Closed
    );
}

fn id_of_nothing() -> String {
    "none".to_owned()
}
