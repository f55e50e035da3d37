use async_trait::async_trait;
use std::collections::VecDeque;
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
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

/// A queue in this process with SQS's delivery rules: delays, a visibility timeout after
/// each receive, redelivery of what is not deleted, and a dead-letter queue after
/// `max_receives` receives.
pub struct InProcessQueue {
    messages: Mutex<VecDeque<Message>>,
    notify: Notify,
    visibility: Duration,
    redrive: Option<(u32, Arc<InProcessQueue>)>,
    counter: AtomicU64,
}

impl InProcessQueue {
    pub fn new(visibility: Duration) -> Self {
        InProcessQueue {
            messages: Mutex::new(VecDeque::new()),
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
        self.messages.lock().expect("queue lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn push(&self, body: String, visible_at: Instant) {
        let id = format!("msg-{}", self.next_id());
        self.messages
            .lock()
            .expect("queue lock")
            .push_back(Message {
                id,
                body,
                visible_at,
                receive_count: 0,
                receipt: None,
            });
        self.notify.notify_waiters();
    }

    /// Hands out up to `max` visible messages; returns them and, if none was visible, when
    /// the next one becomes visible.
    fn take_visible(&self, max: u32) -> (Vec<ReceivedMessage>, Option<Instant>) {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut dead = Vec::new();
        let mut next: Option<Instant> = None;
        {
            let mut msgs = self.messages.lock().expect("queue lock");
            let mut i = 0;
            while i < msgs.len() && out.len() < max as usize {
                let m = &mut msgs[i];
                if m.visible_at > now {
                    next = Some(next.map_or(m.visible_at, |n| n.min(m.visible_at)));
                    i += 1;
                    continue;
                }
                if let Some((max_receives, _)) = &self.redrive {
                    if m.receive_count >= *max_receives {
                        dead.push(msgs.remove(i).expect("index in range"));
                        continue;
                    }
                }
                m.receive_count += 1;
                m.visible_at = now + self.visibility;
                let receipt = format!("{}:{}", m.id, self.counter.fetch_add(1, Ordering::Relaxed));
                m.receipt = Some(receipt.clone());
                out.push(ReceivedMessage {
                    message_id: m.id.clone(),
                    receipt_handle: receipt,
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                });
                i += 1;
            }
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
        let mut msgs = self.messages.lock().expect("queue lock");
        msgs.retain(|m| m.receipt.as_deref() != Some(receipt_handle));
        Ok(())
    }
}
