/// FsCheck properties as Expecto tests: 200 generated cases each unless the property names
/// another count (Expecto's own default is 100).
module Hybrid.Wsss.Tests.Properties

open Expecto

let private cases (n: int) = { FsCheckConfig.defaultConfig with maxTest = n }

/// A property (any FsCheck testable) checked on 200 cases; a counterexample fails the test.
let property (name: string) (prop: 'P) = testPropertyWithConfig (cases 200) name prop

/// A property checked on `n` cases.
let propertyN (n: int) (name: string) (prop: 'P) = testPropertyWithConfig (cases n) name prop
