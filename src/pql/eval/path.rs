//! Field paths and array projection (D2.1, D2.8, D6.4).
//!
//! A path step on an object reads the field; on an array it maps over the items and flattens
//! (`xEvent.productListItems.SKU` is every SKU of every event), dropping missing and null items;
//! on anything else it is missing (null). Until the first array is met, a path is a chain of
//! borrows; only a projection builds a new array, and [`for_each_path_item`] streams even those.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use super::{Frame, Root, Val, for_each_item_of};
use crate::pql::context::EvalContext;
use crate::pql::value::Value;

/// One field name of a compiled path, interned, with the position where it was last found
/// (see [`crate::pql::value::Object::get_hinted`]).
pub(crate) struct Step {
    key: Arc<str>,
    hint: AtomicU32,
}

impl Step {
    pub(crate) fn new(key: Arc<str>) -> Step {
        Step {
            key,
            hint: AtomicU32::new(0),
        }
    }

    fn lookup<'v>(&self, o: &'v crate::pql::value::Object) -> Option<&'v Value> {
        o.get_hinted(&self.key, &self.hint)
    }

    /// This field of `v`: null when `v` is not an object or lacks it (like [`Value::field`]).
    pub(crate) fn field<'v>(&self, v: &'v Value) -> &'v Value {
        match v {
            Value::Object(o) => self.lookup(o).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
}

impl Clone for Step {
    fn clone(&self) -> Step {
        Step::new(self.key.clone())
    }
}

impl Deref for Step {
    type Target = str;
    fn deref(&self) -> &str {
        &self.key
    }
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.key, f)
    }
}

static NULL: Value = Value::Null;

/// Where a path ends up before any projection is materialised.
enum Resolved<'v> {
    Missing,
    /// No array was crossed: the value itself (which may be an array).
    One(&'v Value),
    /// An array was met before step `at`; the rest of the path maps over it.
    Projected(&'v Value, usize),
}

fn resolve<'v>(root: &'v Value, steps: &[Step]) -> Resolved<'v> {
    let mut v = root;
    for (i, step) in steps.iter().enumerate() {
        match v {
            Value::Object(o) => match step.lookup(o) {
                Some(x) => v = x,
                None => return Resolved::Missing,
            },
            Value::Array(_) => return Resolved::Projected(v, i),
            _ => return Resolved::Missing,
        }
    }
    Resolved::One(v)
}

/// Emits every item of the projection of `steps` over `v` (which is, or lies inside, an
/// array). Returns false as soon as `emit` does.
fn walk<'v>(v: &'v Value, steps: &[Step], emit: &mut dyn FnMut(&'v Value) -> bool) -> bool {
    match steps.split_first() {
        None => match v {
            Value::Null => true,
            Value::Array(items) => items.iter().filter(|x| !x.is_null()).all(emit),
            _ => emit(v),
        },
        Some((step, rest)) => match v {
            Value::Object(o) => match step.lookup(o) {
                Some(x) => walk(x, rest, emit),
                None => true,
            },
            Value::Array(items) => items.iter().all(|item| walk(item, steps, emit)),
            _ => true,
        },
    }
}

fn materialise(v: &Value, steps: &[Step]) -> Value {
    let mut out = Vec::new();
    walk(v, steps, &mut |x| {
        out.push(x.clone());
        true
    });
    Value::array(out)
}

/// The value at `steps` from a borrowed root.
fn path_of_ref<'a>(root: &'a Value, steps: &[Step]) -> Val<'a> {
    match resolve(root, steps) {
        Resolved::Missing => Val::NULL,
        Resolved::One(v) => Val::Ref(v),
        Resolved::Projected(arr, at) => Val::Own(materialise(arr, &steps[at..])),
    }
}

/// The value at `steps` from a root owned by someone else for a shorter time: cloned out.
fn path_of_owned<'a>(root: &Value, steps: &[Step]) -> Val<'a> {
    match resolve(root, steps) {
        Resolved::Missing => Val::NULL,
        Resolved::One(v) => Val::Own(v.clone()),
        Resolved::Projected(arr, at) => Val::Own(materialise(arr, &steps[at..])),
    }
}

pub(crate) fn eval_path<'a>(
    root: Root,
    steps: &[Step],
    cx: &EvalContext<'a>,
    fr: &Frame<'a>,
) -> Val<'a> {
    match root {
        Root::Profile => path_of_ref(cx.profile, steps),
        Root::Events => path_of_ref(cx.events, steps),
        Root::Slot(s) => match fr.get(s) {
            Val::Ref(r) => {
                let r: &'a Value = r;
                path_of_ref(r, steps)
            }
            Val::Own(v) => path_of_owned(v, steps),
        },
    }
}

/// A path in boolean position (D2.3): a projection is true iff it has an item, found without
/// building it.
pub(crate) fn test_path<'a>(
    root: Root,
    steps: &[Step],
    cx: &EvalContext<'a>,
    fr: &Frame<'a>,
) -> bool {
    let base: &Value = match root {
        Root::Profile => cx.profile,
        Root::Events => cx.events,
        Root::Slot(s) => fr.get(s),
    };
    match resolve(base, steps) {
        Resolved::Missing => false,
        Resolved::One(v) => v.truthy(),
        Resolved::Projected(arr, at) => !walk(arr, &steps[at..], &mut |_| false),
    }
}

/// Whether `f` holds for some item of the collection at a path (the items
/// [`for_each_path_item`] would stream). A monomorphic, allocation-free walk for the hottest
/// predicates: comparisons, `in` and `occurs` on a path (`eventType = "x"` once per event).
pub(crate) fn any_item<'a>(
    root: Root,
    steps: &[Step],
    cx: &EvalContext<'a>,
    fr: &Frame<'a>,
    mut f: impl FnMut(&Value) -> bool,
) -> bool {
    let base: &Value = match root {
        Root::Profile => cx.profile,
        Root::Events => cx.events,
        Root::Slot(s) => fr.get(s),
    };
    match resolve(base, steps) {
        Resolved::Missing | Resolved::One(Value::Null) => false,
        Resolved::One(Value::Array(items)) => items.iter().any(f),
        Resolved::One(v) => f(v),
        Resolved::Projected(arr, at) => !walk(arr, &steps[at..], &mut |x| !f(x)),
    }
}

/// Field steps applied to a computed value.
pub(crate) fn project<'a>(target: Val<'a>, steps: &[Step]) -> Val<'a> {
    match target {
        Val::Ref(r) => path_of_ref(r, steps),
        Val::Own(v) => path_of_owned(&v, steps),
    }
}

/// Streams the items of the collection at a path (see [`super::for_each_item`]).
pub(crate) fn for_each_path_item<'a>(
    root: Root,
    steps: &[Step],
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    f: &mut dyn FnMut(Val<'a>, &mut Frame<'a>) -> bool,
) -> bool {
    let base: &'a Value = match root {
        Root::Profile => cx.profile,
        Root::Events => cx.events,
        Root::Slot(s) => match fr.get(s) {
            Val::Ref(r) => r,
            Val::Own(v) => {
                let v = v.clone();
                return items_of_owned(&v, steps, fr, f);
            }
        },
    };
    match resolve(base, steps) {
        Resolved::Missing => true,
        Resolved::One(v) => for_each_item_of(Val::Ref(v), fr, f),
        Resolved::Projected(arr, at) => walk(arr, &steps[at..], &mut |x| f(Val::Ref(x), fr)),
    }
}

fn items_of_owned<'a>(
    root: &Value,
    steps: &[Step],
    fr: &mut Frame<'a>,
    f: &mut dyn FnMut(Val<'a>, &mut Frame<'a>) -> bool,
) -> bool {
    match resolve(root, steps) {
        Resolved::Missing => true,
        Resolved::One(v) => for_each_item_of(Val::Own(v.clone()), fr, f),
        Resolved::Projected(arr, at) => {
            walk(arr, &steps[at..], &mut |x| f(Val::Own(x.clone()), fr))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{eval_json, profile_with_events};
    use serde_json::json;

    fn data() -> crate::pql::eval::testing::Data {
        profile_with_events(
            json!({
                "person": {"name": {"firstName": "Ann"}, "orders": [
                    {"storeId": "s1", "price": 10},
                    {"price": 5},
                    {"storeId": null},
                    {"storeId": "s2", "tags": ["a", "b"]},
                    {"storeId": "s1", "tags": ["c"]}
                ]},
                "empty": [],
                "scalar": 5
            }),
            json!([
                {"eventType": "view", "productListItems": [{"SKU": "A"}, {"SKU": "B"}]},
                {"eventType": "order", "productListItems": [{"SKU": "PS"}]},
                {"eventType": "view"}
            ]),
        )
    }

    #[test]
    fn object_steps_borrow_and_missing_steps_are_null() {
        let d = data();
        assert_eq!(eval_json(&d, "person.name.firstName"), json!("Ann"));
        assert_eq!(eval_json(&d, "person.name.lastName"), json!(null));
        assert_eq!(eval_json(&d, "person.nope.deeper.still"), json!(null));
        assert_eq!(eval_json(&d, "scalar.field"), json!(null));
    }

    #[test]
    fn steps_on_arrays_map_flatten_and_drop_nulls() {
        let d = data();
        assert_eq!(
            eval_json(&d, "person.orders.storeId"),
            json!(["s1", "s2", "s1"])
        );
        assert_eq!(eval_json(&d, "person.orders.tags"), json!(["a", "b", "c"]));
        assert_eq!(
            eval_json(&d, "xEvent.eventType"),
            json!(["view", "order", "view"])
        );
        assert_eq!(
            eval_json(&d, "xEvent.productListItems.SKU"),
            json!(["A", "B", "PS"])
        );
        assert_eq!(eval_json(&d, "empty.x"), json!([]));
    }

    #[test]
    fn fields_are_found_whatever_the_key_order_of_each_object() {
        let d = profile_with_events(
            json!({}),
            json!([
                {"a": 1, "b": "x", "c": true},
                {"c": false, "b": "y"},
                {"b": "z", "a": 3},
                {"x": {"b": "no"}},
                {"b": "w", "c": true, "a": 4}
            ]),
        );
        assert_eq!(eval_json(&d, "xEvent.b"), json!(["x", "y", "z", "w"]));
        assert_eq!(eval_json(&d, "xEvent.a"), json!([1, 3, 4]));
        assert_eq!(eval_json(&d, "xEvent[c = true].b"), json!(["x", "w"]));
        assert_eq!(eval_json(&d, "xEvent[b = \"z\"].a"), json!([3]));
    }

    #[test]
    fn projected_comparisons_are_existential() {
        let d = data();
        assert_eq!(
            eval_json(&d, "xEvent.productListItems.SKU = \"PS\""),
            json!(true)
        );
        assert_eq!(
            eval_json(&d, "xEvent.productListItems.SKU = \"ZZ\""),
            json!(false)
        );
        assert_eq!(eval_json(&d, "xEvent.eventType != \"view\""), json!(true));
        assert_eq!(eval_json(&d, "person.orders.price > 7"), json!(true));
        assert_eq!(eval_json(&d, "person.orders.price > 70"), json!(false));
    }
}
