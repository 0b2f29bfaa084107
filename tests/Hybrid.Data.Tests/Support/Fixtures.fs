/// Test fixture files (see Fixtures/make_fixtures.sh for their provenance).
module Hybrid.Data.Tests.Fixtures

open System
open System.IO
open System.Text
open Expecto
open Hybrid.Data

let file (name: string) = Path.Combine(AppContext.BaseDirectory, "Fixtures", name)

/// Reads a binary PPM (P6, maxval 255) as an RGB image.
let readPpm (path: string) : Image =
    let bytes = File.ReadAllBytes path
    let mutable pos = 0
    let token () =
        while Char.IsWhiteSpace(char bytes[pos]) do pos <- pos + 1
        let start = pos
        while not (Char.IsWhiteSpace(char bytes[pos])) do pos <- pos + 1
        Encoding.ASCII.GetString(bytes, start, pos - start)
    Expect.equal (token ()) "P6" "PPM magic"
    let w = int (token ())
    let h = int (token ())
    Expect.equal (token ()) "255" "PPM maxval"
    pos <- pos + 1 // the single whitespace after maxval
    Image(w, h, 3, bytes[pos .. pos + w * h * 3 - 1])
