/// FsCheck 3 without FsCheck.Xunit: `Prop.check` runs a property inside an xunit [<Fact>]
/// and fails the fact with FsCheck's counterexample report.
module Hybrid.Wsss.Tests.Prop

open FsCheck
open FsCheck.FSharp

let private config = Config.QuickThrowOnFailure.WithMaxTest(200)

/// Check a property (any FsCheck testable) with 200 cases; throws on a counterexample.
let check (property: 'P) = Check.One(config, property)

/// Check with a custom number of cases.
let checkN (n: int) (property: 'P) = Check.One(config.WithMaxTest(n), property)
