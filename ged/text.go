package ged

import "github.com/bluehelm/bluehelm/internal/csvtable"

// The shared CSV helpers under the short names this package's mapping code uses.
type (
	columns = csvtable.Columns
	row     = csvtable.Row
)

var (
	indexHeader = csvtable.IndexHeader
	isHXL       = csvtable.IsHXL
	clean       = csvtable.Clean
	oneLine     = csvtable.OneLine
	clip        = csvtable.Clip
	title       = csvtable.Title
	placeLabel  = csvtable.PlaceLabel
	splitList   = csvtable.SplitList
)
