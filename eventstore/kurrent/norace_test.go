//go:build !race

package kurrent_test

const raceEnabled = false
