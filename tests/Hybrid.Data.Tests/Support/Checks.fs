/// Assertions that xunit had and Expecto words differently, with xunit's exact semantics.
module Hybrid.Data.Tests.Checks

open System
open Expecto

/// The exception thrown by f, which must be of exactly type 'T (not a subtype), as xunit's Assert.Throws.
let throws<'T when 'T :> exn> (f: unit -> unit) : 'T =
    let thrown = try f (); None with e -> Some e
    match thrown with
    | Some e when e.GetType() = typeof<'T> -> e :?> 'T
    | Some e -> failtestf "expected %s, got %s: %s" typeof<'T>.Name (e.GetType().Name) e.Message
    | None -> failtestf "expected %s, nothing was thrown" typeof<'T>.Name

/// xunit's Assert.Equal(expected, actual, precision): both rounded to `digits` decimals, then equal.
let equalRounded (digits: int) (expected: float) (actual: float) (message: string) =
    if Math.Round(expected, digits) <> Math.Round(actual, digits) then
        failtestf "%s: expected %.*f, got %.*f (to %d decimals)" message (digits + 2) expected (digits + 2) actual digits

/// xunit's Assert.InRange: low <= actual <= high.
let inRange (actual: 'T) (low: 'T) (high: 'T) (message: string) =
    if actual < low || actual > high then failtestf "%s: %A is not in [%A, %A]" message actual low high
