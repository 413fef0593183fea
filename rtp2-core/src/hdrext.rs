//! RFC 8285.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionForm {
    OneByte,
    TwoByte,
}
impl ExtensionForm {
    pub fn from_profile(profile: u16) -> Option<Self> {
        if profile == ONE_BYTE_PROFILE {
            Some(Self::OneByte)
        } else if profile & 0xfff0 == TWO_BYTE_PROFILE {
            Some(Self::TwoByte)
        } else {
            None
        }
    }
    pub fn profile(self) -> u16 {
        match self {
            Self::OneByte => ONE_BYTE_PROFILE,
            Self::TwoByte => TWO_BYTE_PROFILE,
        }
    }
    pub fn for_element(id: u8, len: usize) -> Option<Self> {
        if (1..=14).contains(&id) && (1..=16).contains(&len) {
            Some(Self::OneByte)
        } else if id >= 1 && len <= 255 {
            Some(Self::TwoByte)
        } else {
            None
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    pub id: u8,
    pub data: &'a [u8],
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HdrExtError {
    UnknownProfile(u16),
    ElementPastEnd { id: u8, offset: usize },
    IdOutOfRange { id: u8, form: ExtensionForm },
    LengthOutOfRange { len: usize, form: ExtensionForm },
}
impl std::fmt::Display for HdrExtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for HdrExtError {}
pub struct ExtensionElements<'a> {
    form: ExtensionForm,
    data: &'a [u8],
    pos: usize,
    done: bool,
}
impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>, HdrExtError>;
    fn next(&mut self) -> Option<Self::Item> {
        while !self.done && self.pos < self.data.len() {
            let b = self.data[self.pos];
            if b == 0 {
                self.pos += 1;
                continue;
            }
            let (id, len, hdr) = match self.form {
                ExtensionForm::OneByte => {
                    let id = b >> 4;
                    if id == 15 {
                        self.done = true;
                        return None;
                    }
                    (id, usize::from(b & 0x0f) + 1, 1)
                }
                ExtensionForm::TwoByte => {
                    if self.pos + 1 >= self.data.len() {
                        self.done = true;
                        return Some(Err(HdrExtError::ElementPastEnd {
                            id: b,
                            offset: self.pos,
                        }));
                    }
                    (b, usize::from(self.data[self.pos + 1]), 2)
                }
            };
            let start = self.pos + hdr;
            if start + len > self.data.len() {
                self.done = true;
                return Some(Err(HdrExtError::ElementPastEnd {
                    id,
                    offset: self.pos,
                }));
            }
            self.pos = start + len;
            return Some(Ok(ExtensionElement {
                id,
                data: &self.data[start..start + len],
            }));
        }
        None
    }
}
pub fn parse_elements(profile: u16, data: &[u8]) -> Result<ExtensionElements<'_>, HdrExtError> {
    let form = ExtensionForm::from_profile(profile).ok_or(HdrExtError::UnknownProfile(profile))?;
    Ok(ExtensionElements {
        form,
        data,
        pos: 0,
        done: false,
    })
}
pub struct ExtensionWriter {
    form: ExtensionForm,
    buf: Vec<u8>,
    n: usize,
}
impl ExtensionWriter {
    pub fn new(form: ExtensionForm) -> Self {
        ExtensionWriter {
            form,
            buf: Vec::new(),
            n: 0,
        }
    }
    pub fn form(&self) -> ExtensionForm {
        self.form
    }
    pub fn push(&mut self, id: u8, data: &[u8]) -> Result<(), HdrExtError> {
        match self.form {
            ExtensionForm::OneByte => {
                if !(1..=14).contains(&id) {
                    return Err(HdrExtError::IdOutOfRange {
                        id,
                        form: self.form,
                    });
                }
                if !(1..=16).contains(&data.len()) {
                    return Err(HdrExtError::LengthOutOfRange {
                        len: data.len(),
                        form: self.form,
                    });
                }
                self.buf.push((id << 4) | (data.len() as u8 - 1));
            }
            ExtensionForm::TwoByte => {
                if id == 0 {
                    return Err(HdrExtError::IdOutOfRange {
                        id,
                        form: self.form,
                    });
                }
                if data.len() > 255 {
                    return Err(HdrExtError::LengthOutOfRange {
                        len: data.len(),
                        form: self.form,
                    });
                }
                self.buf.push(id);
                self.buf.push(data.len() as u8);
            }
        }
        self.buf.extend_from_slice(data);
        self.n += 1;
        Ok(())
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn finish(mut self) -> Option<(u16, Vec<u8>)> {
        if self.n == 0 {
            return None;
        }
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        Some((self.form.profile(), self.buf))
    }
}
