//! One conformance suite for the Queue port, run against the in-process queue and SQS
//! (moto's SQS endpoint): delivery, visibility timeout and redelivery, delays, batches and
//! the dead-letter queue.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use walletpay_embedded::InProcessQueue;
use walletpay_ports::{Queue, QueueError, QueueReceiver};

/// A queue under test: producer and consumer sides, and its dead-letter queue if any.
struct Subject {
    queue: Arc<dyn Queue>,
    receiver: Arc<dyn QueueReceiver>,
    dlq: Option<Arc<dyn QueueReceiver>>,
}

async fn in_process(visibility: Duration, max_receives: Option<u32>) -> Option<Subject> {
    let dlq = Arc::new(InProcessQueue::new(visibility));
    let q = InProcessQueue::new(visibility);
    let q = Arc::new(match max_receives {
        Some(n) => q.with_dead_letter(n, dlq.clone()),
        None => q,
    });
    Some(Subject {
        queue: q.clone(),
        receiver: q,
        dlq: max_receives.map(|_| dlq as Arc<dyn QueueReceiver>),
    })
}

async fn sqs(visibility: Duration, max_receives: Option<u32>) -> Option<Subject> {
    let (q, dlq) = walletpay_tests::sqs_queue(visibility, max_receives).await?;
    let q = Arc::new(q);
    Some(Subject {
        queue: q.clone(),
        receiver: q,
        dlq: dlq.map(|d| Arc::new(d) as Arc<dyn QueueReceiver>),
    })
}

/// Receives until `n` messages arrived or `within` passed.
async fn drain(r: &dyn QueueReceiver, n: usize, within: Duration, delete: bool) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && tokio::time::Instant::now() < deadline {
        for m in r.receive(10, Duration::from_secs(1)).await.unwrap() {
            if delete {
                r.delete(&m.receipt_handle).await.unwrap();
            }
            got.push(m.body);
        }
    }
    got
}

async fn delivers_and_deletes(s: Subject) {
    s.queue.send("{\"n\":1}", Duration::ZERO).await.unwrap();
    let got = s
        .receiver
        .receive(10, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "{\"n\":1}");
    assert_eq!(got[0].receive_count, 1);
    s.receiver.delete(&got[0].receipt_handle).await.unwrap();
    // Deleted: it never comes back, even after the visibility timeout.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s
        .receiver
        .receive(10, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());
}

async fn undeleted_message_comes_back_after_visibility_timeout(s: Subject) {
    s.queue.send("again", Duration::ZERO).await.unwrap();
    let first = s.receiver.receive(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(first.len(), 1);
    // Hidden while in flight.
    assert!(s
        .receiver
        .receive(1, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    let second = drain_one(s.receiver.as_ref(), Duration::from_secs(5)).await;
    assert_eq!(second.body, "again");
    assert_eq!(second.receive_count, 2);
    s.receiver.delete(&second.receipt_handle).await.unwrap();
}

async fn drain_one(r: &dyn QueueReceiver, within: Duration) -> walletpay_ports::ReceivedMessage {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(m) = r.receive(1, Duration::from_secs(1)).await.unwrap().pop() {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no message within {within:?}"
        );
    }
}

async fn delay_holds_a_message_back(s: Subject) {
    s.queue.send("later", Duration::from_secs(2)).await.unwrap();
    assert!(
        s.receiver
            .receive(10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "visible before its delay"
    );
    let m = drain_one(s.receiver.as_ref(), Duration::from_secs(6)).await;
    assert_eq!(m.body, "later");
    s.receiver.delete(&m.receipt_handle).await.unwrap();
}

async fn batches_of_at_most_ten_each_delivered_once(s: Subject) {
    for i in 0..15 {
        s.queue
            .send(&format!("m{i}"), Duration::ZERO)
            .await
            .unwrap();
    }
    let first = s
        .receiver
        .receive(10, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(!first.is_empty() && first.len() <= 10);
    for m in &first {
        s.receiver.delete(&m.receipt_handle).await.unwrap();
    }
    let mut all: Vec<String> = first.into_iter().map(|m| m.body).collect();
    all.extend(
        drain(
            s.receiver.as_ref(),
            15 - all.len(),
            Duration::from_secs(10),
            true,
        )
        .await,
    );
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 15, "{all:?}");
    assert_eq!(unique.len(), 15);
}

async fn dead_letters_after_max_receives(s: Subject) {
    let dlq = s.dlq.clone().expect("suite builds this one with a DLQ");
    s.queue.send("poison", Duration::ZERO).await.unwrap();
    for n in 1..=2 {
        let m = drain_one(s.receiver.as_ref(), Duration::from_secs(5)).await;
        assert_eq!(m.receive_count, n);
        // Not deleted: it failed.
    }
    // As in SQS, the receive that would exceed the limit moves it to the DLQ instead.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(s
        .receiver
        .receive(10, Duration::from_secs(2))
        .await
        .unwrap()
        .is_empty());
    let dead = drain_one(dlq.as_ref(), Duration::from_secs(5)).await;
    assert_eq!(dead.body, "poison");
}

async fn refuses_oversized_messages(s: Subject) {
    let big = "x".repeat(256 * 1024 + 1);
    assert!(matches!(
        s.queue.send(&big, Duration::ZERO).await,
        Err(QueueError::TooLarge(_))
    ));
}

macro_rules! suite {
    ($module:ident, $make:ident) => {
        mod $module {
            use super::*;
            macro_rules! case {
                ($name:ident, $redrive:expr) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(s) = $make(Duration::from_secs(1), $redrive).await else {
                            return;
                        };
                        super::$name(s).await;
                    }
                };
            }
            case!(delivers_and_deletes, None);
            case!(undeleted_message_comes_back_after_visibility_timeout, None);
            case!(delay_holds_a_message_back, None);
            case!(batches_of_at_most_ten_each_delivered_once, None);
            case!(dead_letters_after_max_receives, Some(2));
            case!(refuses_oversized_messages, None);
        }
    };
}

suite!(in_process_queue, in_process);
suite!(sqs_queue, sqs);
