use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use walletpay_ports::queue::MAX_MESSAGE_BYTES;
use walletpay_ports::{Queue, QueueError, QueueReceiver, ReceivedMessage};

struct Message {
    id: String,
    body: String,
    receive_count: u32,
    receipt: Option<String>,
}

/// The messages held, ordered by when each becomes visible (then by arrival), and the
/// receipt each was last handed out with: a receive takes from the front and a delete finds
/// its message by receipt, neither scanning what is not yet visible (the delayed checks a
/// busy stack holds by the thousand).
#[derive(Default)]
struct Held {
    by_visibility: BTreeMap<(Instant, u64), Message>,
    receipts: HashMap<String, (Instant, u64)>,
}

/// A queue in this process with SQS's delivery rules: delays, a visibility timeout after
/// each receive, redelivery of what is not deleted, and a dead-letter queue after
/// `max_receives` receives.
pub struct InProcessQueue {
    messages: Mutex<Held>,
    notify: Notify,
    visibility: Duration,
    redrive: Option<(u32, Arc<InProcessQueue>)>,
    counter: AtomicU64,
}

impl InProcessQueue {
    pub fn new(visibility: Duration) -> Self {
        InProcessQueue {
            messages: Mutex::new(Held::default()),
            notify: Notify::new(),
            visibility,
            redrive: None,
            counter: AtomicU64::new(0),
        }
    }

    /// Messages received `max_receives` times without being deleted move to `dlq`.
    pub fn with_dead_letter(mut self, max_receives: u32, dlq: Arc<InProcessQueue>) -> Self {
        self.redrive = Some((max_receives, dlq));
        self
    }

    /// Messages held, visible or not.
    pub fn len(&self) -> usize {
        self.messages
            .lock()
            .expect("queue lock")
            .by_visibility
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn push(&self, body: String, visible_at: Instant) {
        let n = self.next_id();
        self.messages
            .lock()
            .expect("queue lock")
            .by_visibility
            .insert(
                (visible_at, n),
                Message {
                    id: format!("msg-{n}"),
                    body,
                    receive_count: 0,
                    receipt: None,
                },
            );
        self.notify.notify_waiters();
    }

    /// Hands out up to `max` visible messages; returns them and, if none was visible, when
    /// the next one becomes visible.
    fn take_visible(&self, max: u32) -> (Vec<ReceivedMessage>, Option<Instant>) {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut dead = Vec::new();
        let next;
        {
            let mut held = self.messages.lock().expect("queue lock");
            let held = &mut *held;
            let mut taken = Vec::new();
            while out.len() < max as usize {
                let Some(entry) = held.by_visibility.first_entry() else {
                    break;
                };
                if entry.key().0 > now {
                    break;
                }
                let mut m = entry.remove();
                if let Some(old) = m.receipt.take() {
                    held.receipts.remove(&old);
                }
                if let Some((max_receives, _)) = &self.redrive {
                    if m.receive_count >= *max_receives {
                        dead.push(m);
                        continue;
                    }
                }
                m.receive_count += 1;
                let n = self.next_id();
                let key = (now + self.visibility, n);
                let receipt = format!("{}:{n}", m.id);
                m.receipt = Some(receipt.clone());
                out.push(ReceivedMessage {
                    message_id: m.id.clone(),
                    receipt_handle: receipt.clone(),
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                });
                taken.push((receipt, key, m));
            }
            // Back in only now: with a zero visibility timeout a message put back at once
            // would be visible again and handed out twice in one receive.
            for (receipt, key, m) in taken {
                held.receipts.insert(receipt, key);
                held.by_visibility.insert(key, m);
            }
            next = held.by_visibility.keys().next().map(|(at, _)| *at);
        }
        if let Some((_, dlq)) = &self.redrive {
            for m in dead {
                dlq.push(m.body, now);
            }
        }
        (out, next)
    }
}

#[async_trait]
impl Queue for InProcessQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        self.push(body.to_string(), Instant::now() + delay);
        Ok(())
    }
}

#[async_trait]
impl QueueReceiver for InProcessQueue {
    async fn receive(&self, max: u32, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let (got, next) = self.take_visible(max.clamp(1, 10));
            if !got.is_empty() {
                return Ok(got);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let until = next.map_or(deadline, |n| n.min(deadline));
            let _ = tokio::time::timeout_at(until, notified).await;
        }
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        let mut held = self.messages.lock().expect("queue lock");
        if let Some(key) = held.receipts.remove(receipt_handle) {
            held.by_visibility.remove(&key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no visibility timeout a message is still handed out once per receive, never
    /// again within the same batch (which would count receives towards the dead-letter
    /// queue that never happened).
    #[tokio::test]
    async fn a_zero_visibility_timeout_hands_a_message_out_once_per_receive() {
        let dlq = Arc::new(InProcessQueue::new(Duration::ZERO));
        let q = InProcessQueue::new(Duration::ZERO).with_dead_letter(5, dlq.clone());
        q.send("one", Duration::ZERO).await.unwrap();
        let got = q.receive(10, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receive_count, 1);
        assert!(dlq.is_empty());
        assert_eq!(
            q.receive(10, Duration::ZERO).await.unwrap()[0].receive_count,
            2
        );
    }
}
