package api

// kinds is the table of every resource kind brindle knows, in calicoctl's order.
var kinds = []*KindInfo{
	{Kind: "IPPool", Plural: "ippools", Aliases: []string{"ippool", "ipp", "ipps", "pool", "pools"}, New: func() Resource { return &IPPool{} }},
}
