// Package clitest runs the real cairn binary in tests, as a user would: it builds the
// binary once per test binary, gives each test a user of its own (a repository, a
// password, state and cache folders), compares trees byte for byte and checks that
// every snapshot of a repository refers only to data that is there. The CLI tests of
// cmd/cairn and the fault battery (internal/battery) share it. Tests only.
package clitest
