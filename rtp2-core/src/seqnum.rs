#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqnumVerdict {
    First,
    Expected,
    Gap { lost: u16 },
    Late { behind: u16 },
    Restart,
}
#[derive(Debug)]
pub struct SeqnumTracker {
    max_reorder: u32,
    expected: Option<u16>,
}
impl SeqnumTracker {
    pub fn new(max_reorder: u32) -> Self {
        SeqnumTracker {
            max_reorder,
            expected: None,
        }
    }
    pub fn set_max_reorder(&mut self, m: u32) {
        self.max_reorder = m;
    }
    pub fn expected(&self) -> Option<u16> {
        self.expected
    }
    pub fn reset(&mut self) {
        self.expected = None;
    }
    pub fn check(&mut self, seq: u16) -> SeqnumVerdict {
        let Some(expected) = self.expected else {
            self.expected = Some(seq.wrapping_add(1));
            return SeqnumVerdict::First;
        };
        let d = seq.wrapping_sub(expected) as i16;
        if d == 0 {
            self.expected = Some(seq.wrapping_add(1));
            SeqnumVerdict::Expected
        } else if d > 0 {
            self.expected = Some(seq.wrapping_add(1));
            SeqnumVerdict::Gap { lost: d as u16 }
        } else {
            let behind = d.unsigned_abs();
            if u32::from(behind) <= self.max_reorder {
                SeqnumVerdict::Late { behind }
            } else {
                self.expected = Some(seq.wrapping_add(1));
                SeqnumVerdict::Restart
            }
        }
    }
}
#[derive(Debug, Default)]
pub struct SeqnumUnwrapper {
    last: Option<u64>,
}
impl SeqnumUnwrapper {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn reset(&mut self) {
        self.last = None;
    }
    pub fn unwrap(&mut self, seq: u16) -> u64 {
        let v = match self.last {
            None => (1u64 << 32) + u64::from(seq),
            Some(last) => {
                let d = seq.wrapping_sub(last as u16) as i16;
                (last as i64 + i64::from(d)) as u64
            }
        };
        self.last = Some(v);
        v
    }
}
#[derive(Debug, Default)]
pub struct TimestampUnwrapper {
    last: Option<u64>,
}
impl TimestampUnwrapper {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn reset(&mut self) {
        self.last = None;
    }
    pub fn unwrap(&mut self, ts: u32) -> u64 {
        let v = match self.last {
            None => (1u64 << 40) + u64::from(ts),
            Some(last) => {
                let d = ts.wrapping_sub(last as u32) as i32;
                (last as i64 + i64::from(d)) as u64
            }
        };
        self.last = Some(v);
        v
    }
}
