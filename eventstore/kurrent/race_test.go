//go:build race

package kurrent_test

const raceEnabled = true
