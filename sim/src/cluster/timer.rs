//! A reusable timer that arms madsim's timer wheel once per deadline. madsim's `Sleep` adds a
//! timer on every poll while it is pending, and a select loop polls it again on every message
//! its task receives: each of those timers later fires and wakes the task for nothing. A node
//! loop that handles thousands of messages per simulated second spent a tenth of its time on
//! such stale timers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use madsim::time::{sleep_until, Instant, Sleep};

pub struct Timer {
    sleep: Pin<Box<Sleep>>,
    /// A madsim timer for the current deadline is registered.
    armed: bool,
}

impl Timer {
    pub fn new(deadline: Instant) -> Timer {
        Timer {
            sleep: Box::pin(sleep_until(deadline)),
            armed: false,
        }
    }

    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Move the deadline; a later one arms a new madsim timer when next polled.
    pub fn reset(&mut self, deadline: Instant) {
        if deadline != self.sleep.deadline() {
            self.sleep.as_mut().reset(deadline);
            self.armed = false;
        }
    }

    /// Wait for the deadline (cancel-safe: dropping the future keeps the timer armed).
    pub fn wait(&mut self) -> Wait<'_> {
        Wait(self)
    }
}

pub struct Wait<'a>(&'a mut Timer);

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let t = &mut *self.get_mut().0;
        if t.sleep.is_elapsed() {
            t.armed = false;
            return Poll::Ready(());
        }
        if !t.armed {
            // Registers one madsim timer that wakes this task at the deadline; every task polls
            // its timers with its own waker, so later polls need not register again.
            let _ = t.sleep.as_mut().poll(cx);
            t.armed = true;
        }
        Poll::Pending
    }
}
