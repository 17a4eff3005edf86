//! The ID card reader for the app: what a card read means for the record, and the diagnostic
//! `kiosk idcard read` for hall IT.

use std::time::{Duration, Instant};

use kiosk_domain::card_fill::CardIdentity;
use kiosk_domain::catalog::{Gender, IdType};
use kiosk_domain::{Ethnicity, idnumber};
use kiosk_hardware::idcard::{self, CardData, CardType, IdCardService, ReaderConfig, ReaderEvent};
use thiserror::Error;

/// The record's view of a card.
pub fn identity(card: &CardData) -> CardIdentity {
    let id_type = match card.card_type {
        CardType::Resident => IdType::ResidentIdCard,
        CardType::Permit => IdType::HkMoTwResidencePermit,
        CardType::Foreign2017 | CardType::Foreign2023 => IdType::ForeignPermanentResidentCard,
    };
    let gender = match card.gender {
        idcard::Gender::Male => Some(Gender::Male),
        idcard::Gender::Female => Some(Gender::Female),
        idcard::Gender::Unknown | idcard::Gender::Unstated => None,
    };
    CardIdentity {
        id_type,
        id_number: card.id_number.clone(),
        name: card.name.clone(),
        gender,
        ethnicity: card
            .ethnicity
            .as_deref()
            .and_then(|code| code.parse::<u8>().ok())
            .and_then(Ethnicity::from_code),
        birth: idnumber::birth_date(&card.birth),
        address: card.address.clone().filter(|a| !a.trim().is_empty()),
    }
}

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("读卡器未连接（{0}）/ no ID card reader at {0}")]
    NoReader(String),
    #[error("未检测到身份证，请将身份证放在读卡区 / no card was placed within the time limit")]
    NoCard,
    #[error("读卡失败：{0}")]
    ReadFailed(String),
    #[error("cannot start the reader: {0}")]
    Start(#[from] std::io::Error),
}

/// Waits for one card on the reader at `port` and returns what it holds.
pub fn read_one(port: &str, timeout: Duration) -> Result<CardData, ReadError> {
    let service = IdCardService::start(ReaderConfig::with_path(port))?;
    let deadline = Instant::now() + timeout;
    let mut connected = false;
    let mut last_failure = None;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match service.events().recv_timeout(left) {
            Ok(ReaderEvent::ReaderConnected) => connected = true,
            Ok(ReaderEvent::ReaderDisconnected) => connected = false,
            Ok(ReaderEvent::CardRead(card)) => return Ok(*card),
            Ok(ReaderEvent::ReadFailed(e)) => last_failure = Some(e.zh()),
            Ok(ReaderEvent::CardPlaced | ReaderEvent::CardRemoved) => {}
            Err(_) => break,
        }
    }
    match (connected, last_failure) {
        (false, _) => Err(ReadError::NoReader(port.to_owned())),
        (true, Some(reason)) => Err(ReadError::ReadFailed(reason.to_string())),
        (true, None) => Err(ReadError::NoCard),
    }
}

/// The card as JSON with the simulator file's field names; the ID number masked unless `show`.
pub fn card_json(card: &CardData, show: bool) -> serde_json::Value {
    let mut value = serde_json::to_value(card).unwrap_or(serde_json::Value::Null);
    if !show && let Some(obj) = value.as_object_mut() {
        obj.insert("id_number".into(), card.masked_id_number().into());
    }
    value
}
