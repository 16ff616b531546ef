//go:build race

package modeltest_test

// raceDetector: the race detector slows folds about tenfold; the bench log
// is then shorter.
const raceDetector = true
