//! The app's shared state: values kept by type for the server's life.

use std::any::{Any, TypeId};

/// Values by type, one per type (see [`App::with_state`](crate::App::with_state)).
#[derive(Default)]
pub(crate) struct State {
    // A list rather than a map: apps keep a handful of types, and comparing a few type
    // ids is cheaper than hashing one.
    items: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
}

impl State {
    /// No values, for requests made outside an app (unit tests).
    #[cfg(test)]
    pub(crate) const EMPTY: State = State { items: Vec::new() };

    /// Keeps `value`, replacing the value of its type.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        let value: Box<dyn Any + Send + Sync> = Box::new(value);
        match self.items.iter_mut().find(|(t, _)| *t == id) {
            Some(slot) => slot.1 = value,
            None => self.items.push((id, value)),
        }
    }

    /// The value of type `T`, if one was kept.
    #[inline]
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.items
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_ref())
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "State({} values)", self.items.len())
    }
}
