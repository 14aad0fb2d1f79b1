// Package cryptocost measures what each authentication scheme costs on this
// machine (CPU time per sign and verify, key and authenticator sizes) and
// predicts from it the request rate PBFT and HotStuff can reach when
// authentication alone limits them. `replbench crypto` prints both.
package cryptocost
