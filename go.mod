module github.com/bluehelm/bluehelm

go 1.26.8

require github.com/paulmach/orb v0.14.0
