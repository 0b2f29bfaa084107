/// Expectations that Expecto lacks, with the meaning the tests were written for (xunit's):
/// equality to a number of decimal places, ranges, exceptions of an exact type. Shared by the
/// Wsss and Cli test libraries (Hybrid.Cli.Tests compiles this file too).
module Hybrid.TestSupport.Expectations

open System
open Expecto

/// `actual` equals `expected` once both are rounded to `digits` decimal places.
let equalDigits (digits: int) (actual: float) (expected: float) (message: string) =
    let a, e = Math.Round(actual, digits), Math.Round(expected, digits)
    if not (a.Equals e) then
        failtestf "%s: expected %.17g, got %.17g (to %d decimal places)" message expected actual digits

/// `equalDigits` for float and float32 alike.
let inline equalRounded (digits: int) (actual: ^T) (expected: ^T) (message: string) =
    equalDigits digits (float actual) (float expected) message

/// lo <= actual <= hi.
let inRange (actual: 'T) (lo: 'T) (hi: 'T) (message: string) =
    if not (lo <= actual && actual <= hi) then failtestf "%s: %A is not in [%A, %A]" message actual lo hi

/// `text` does not contain `part`.
let doesNotContain (text: string) (part: string) (message: string) =
    if text.Contains part then failtestf "%s: %A contains %A" message text part

let private thrown (f: unit -> unit) =
    try
        f ()
        None
    with e ->
        Some e

/// `f` throws an 'E itself (not a subtype), which is returned.
let throws<'E when 'E :> exn> (f: unit -> unit) : 'E =
    match thrown f with
    | Some e when e.GetType() = typeof<'E> -> e :?> 'E
    | Some e -> failtestf "expected %s, got %s: %s" typeof<'E>.FullName (e.GetType().FullName) e.Message
    | None -> failtestf "expected %s, nothing was thrown" typeof<'E>.FullName

/// `f` throws an 'E or a subtype of it, which is returned.
let throwsAny<'E when 'E :> exn> (f: unit -> unit) : 'E =
    match thrown f with
    | Some(:? 'E as e) -> e
    | Some e -> failtestf "expected %s or a subtype, got %s: %s" typeof<'E>.FullName (e.GetType().FullName) e.Message
    | None -> failtestf "expected %s, nothing was thrown" typeof<'E>.FullName
