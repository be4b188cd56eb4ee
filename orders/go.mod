module github.com/ecommerce-go/ecommerce/orders

go 1.26.0

require github.com/ecommerce-go/ecommerce/pkg v0.0.0

replace github.com/ecommerce-go/ecommerce/pkg => ../pkg
