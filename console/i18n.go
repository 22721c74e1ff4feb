package console

import "strings"

// Lang is the language a page is rendered in: Chinese first (zh-CN), English on request. Every
// message lives in one catalogue (messages), keyed by a stable id, so a missing translation is a
// test failure rather than a blank on a page.
type Lang string

// The console's languages.
const (
	Chinese Lang = "zh-CN"
	English Lang = "en"
)

// parseLang reads a ?lang= value or the language cookie; anything else is "".
func parseLang(v string) Lang {
	switch strings.ToLower(v) {
	case "zh", "zh-cn", "zh-hans":
		return Chinese
	case "en", "en-us", "en-gb":
		return English
	}
	return ""
}

// T is the message with this id in the language; an unknown id is returned as it is (and the
// catalogue test fails on it).
func (l Lang) T(id string) string {
	m, ok := messages[id]
	if !ok {
		return id
	}
	if l == English {
		return m[1]
	}
	return m[0]
}

// Code translates a code value of the domain (a domain, a pricing method, a role…) for display,
// falling back to the code itself.
func (l Lang) Code(kind, code string) string {
	if _, ok := messages[kind+"."+code]; ok {
		return l.T(kind + "." + code)
	}
	return code
}

// Other is the language the switch offers.
func (l Lang) Other() Lang {
	if l == English {
		return Chinese
	}
	return English
}

// messages are every text the console shows: [zh-CN, en].
var messages = map[string][2]string{
	"venue":                             {"公共数据资产交易平台", "Public Data Asset Exchange"},
	"console":                           {"控制台", "Console"},
	"skip":                              {"跳到主要内容", "Skip to main content"},
	"lang.switch":                       {"English", "中文"},
	"nav.label":                         {"主导航", "Main navigation"},
	"nav.catalogue":                     {"数据产品目录", "Catalogue"},
	"signin.title":                      {"登录", "Sign in"},
	"signin.oidc":                       {"通过统一身份认证登录", "Sign in with the unified identity service"},
	"signin.oidc.none":                  {"未配置统一身份认证。", "No identity provider is configured."},
	"signin.dev":                        {"开发环境登录（演示身份）", "Development sign-in (demo identities)"},
	"signin.dev.note":                   {"仅在启用开发签发方时显示；生产环境不可用。", "Shown only while the development issuer is on; never in production."},
	"signin.dev.identity":               {"演示身份", "Demo identity"},
	"signin.submit":                     {"登录", "Sign in"},
	"signin.failed":                     {"登录失败", "Sign-in failed"},
	"signout":                           {"退出", "Sign out"},
	"signedin.as":                       {"当前身份", "Signed in as"},
	"role.operator":                     {"运营方", "Operator"},
	"role.buyer":                        {"买方", "Buyer"},
	"role.data_bureau":                  {"数据管理部门", "Data bureau"},
	"role.finance_bureau":               {"财政部门", "Finance bureau"},
	"role.clerk":                        {"结算专员", "Clerk"},
	"role.auditor":                      {"审计", "Auditor"},
	"role.appraiser":                    {"评估机构", "Appraiser"},
	"catalogue.title":                   {"数据产品目录", "Data product catalogue"},
	"catalogue.search":                  {"搜索", "Search"},
	"catalogue.q":                       {"关键词", "Keywords"},
	"catalogue.sort":                    {"排序", "Sort by"},
	"catalogue.results":                 {"搜索结果", "Results"},
	"catalogue.total":                   {"共 %s 个产品", "%s products"},
	"catalogue.none":                    {"没有符合条件的产品。", "No product matches."},
	"catalogue.next":                    {"下一页", "Next page"},
	"catalogue.facets":                  {"筛选", "Filters"},
	"catalogue.clear":                   {"清除筛选", "Clear filters"},
	"catalogue.any":                     {"不限", "Any"},
	"facet.domain":                      {"领域", "Domain"},
	"facet.product_type":                {"产品类型", "Product type"},
	"facet.pricing_method":              {"定价方式", "Pricing method"},
	"facet.use_category":                {"用途类别", "Use category"},
	"sort.relevance":                    {"相关度", "Relevance"},
	"sort.newest":                       {"最新", "Newest"},
	"sort.price_asc":                    {"价格从低到高", "Price, low to high"},
	"sort.price_desc":                   {"价格从高到低", "Price, high to low"},
	"domain.transport":                  {"交通出行", "Transport"},
	"domain.healthcare":                 {"医疗健康", "Healthcare"},
	"domain.geospatial":                 {"地理空间", "Geospatial"},
	"domain.social_security_employment": {"社保就业", "Social security and employment"},
	"domain.enterprise_credit":          {"企业信用", "Enterprise credit"},
	"domain.education_technology":       {"教育科技", "Education and technology"},
	"domain.culture":                    {"文化旅游", "Culture and tourism"},
	"domain.inclusive_finance":          {"普惠金融", "Inclusive finance"},
	"domain.natural_resources":          {"自然资源", "Natural resources"},
	"domain.ecology_environment":        {"生态环境", "Ecology and environment"},
	"domain.agriculture":                {"农业农村", "Agriculture"},
	"domain.market_regulation":          {"市场监管", "Market regulation"},
	"domain.other":                      {"其他", "Other"},
	"type.privacy_computing":            {"隐私计算", "Privacy computing"},
	"type.raw_data":                     {"原始数据", "Raw data"},
	"method.guided":                     {"政府指导价", "Guided price"},
	"method.appraisal":                  {"评估定价", "Appraisal"},
	"method.auction":                    {"拍卖", "Auction"},
	"method.negotiation":                {"协商定价", "Negotiation"},
	"method.free":                       {"无偿使用", "Free"},
	"use.public_governance":             {"公共治理", "Public governance"},
	"use.public_welfare":                {"公益事业", "Public welfare"},
	"use.industry":                      {"产业发展", "Industry"},
	"type.dataset":                      {"数据集", "Dataset"},
	"type.data_report":                  {"数据报告", "Data report"},
	"type.api_service":                  {"接口服务", "API service"},
	"type.model":                        {"模型", "Model"},
	"type.sandbox_access":               {"沙箱访问", "Sandbox access"},
	"type.published_data":               {"公开数据", "Published data"},
	"product.price":                     {"价格", "Price"},
	"product.method":                    {"定价方式", "Pricing method"},
	"product.operator":                  {"运营方", "Operator"},
	"product.domain":                    {"领域", "Domain"},
	"product.type":                      {"产品类型", "Product type"},
	"product.status":                    {"状态", "Status"},
	"product.back":                      {"返回目录", "Back to the catalogue"},
	"product.certificates":              {"登记证书", "Certificates"},
	"product.certificates.none":         {"来源资产暂无登记证书。", "The source assets have no certificates."},
	"cert.number":                       {"证书编号", "Number"},
	"cert.kind":                         {"类型", "Kind"},
	"cert.holder":                       {"持有方", "Holder"},
	"cert.valid":                        {"有效期至", "Valid until"},
	"cert.status":                       {"状态", "Status"},
	"cert.kind.resource":                {"数据资源登记证书", "Data resource certificate"},
	"cert.kind.asset":                   {"数据资产登记证书", "Data asset certificate"},
	"product.scope":                     {"授权范围", "Authorisation scope"},
	"scope.scenario":                    {"授权场景", "Authorised scenario"},
	"scope.use":                         {"用途类别", "Use category"},
	"scope.permitted":                   {"许可用途", "Permitted use"},
	"scope.duration":                    {"许可期限（天）", "Licence term (days)"},
	"scope.onward":                      {"允许转授权", "Onward transfer allowed"},
	"yes":                               {"是", "Yes"},
	"no":                                {"否", "No"},
	"product.guidance":                  {"价格指引", "Price guidance"},
	"guidance.cap":                      {"上限收费标准", "Price cap"},
	"guidance.cap.none":                 {"当前无适用的上限收费标准。", "No price cap is in force."},
	"guidance.cap.ref":                  {"批复文号", "Approval"},
	"guidance.band":                     {"指导价区间", "Guided band"},
	"guidance.appraisal":                {"评估价值", "Appraised value"},
	"guidance.trades":                   {"近 90 天可比成交", "Comparable trades, 90 days"},
	"guidance.low":                      {"建议下限", "Suggested low"},
	"guidance.high":                     {"建议上限", "Suggested high"},
	"guidance.unavailable":              {"暂无价格指引。", "No guidance is available."},
	"error.title":                       {"出错了", "Something went wrong"},
	"error.notfound":                    {"未找到该页面或产品。", "No such page or product."},
	"error.forbidden":                   {"您的角色无权访问此页面。", "Your role may not open this page."},
	"error.csrf":                        {"表单已过期，请返回后重试。", "The form has expired; go back and try again."},
	"error.internal":                    {"服务暂时不可用，请稍后重试。", "The venue could not answer; try again shortly."},
	"status.published":                  {"已上架", "Published"},
	"status.suspended":                  {"已暂停", "Suspended"},
	"status.valid":                      {"有效", "Valid"},
	"status.expired":                    {"已过期", "Expired"},
	"status.cancelled":                  {"已注销", "Cancelled"},
	"auction.title":                     {"竞价", "Auction"},
	"auction.open":                      {"正在进行的竞价", "Open auctions"},
	"auction.go":                        {"进入竞价", "Go to the auction"},
	"auction.kind":                      {"方式", "Kind"},
	"auction.kind.english":              {"英式拍卖（公开增价）", "English (open ascending)"},
	"auction.kind.sealed_first":         {"密封一价", "Sealed, first price"},
	"auction.kind.sealed_second":        {"密封二价", "Sealed, second price"},
	"auction.status":                    {"状态", "Status"},
	"auction.high":                      {"当前最高价", "Leading price"},
	"auction.none":                      {"尚无出价", "No bid yet"},
	"auction.bids":                      {"出价次数", "Bids"},
	"auction.reserve":                   {"保留价", "Reserve"},
	"auction.increment":                 {"加价幅度", "Increment"},
	"auction.deposit":                   {"保证金", "Deposit"},
	"auction.ends":                      {"结束时间（北京时间）", "Ends (China Standard Time)"},
	"auction.cap":                       {"上限收费标准", "Price cap"},
	"auction.back":                      {"返回产品页", "Back to the product"},
	"bid.title":                         {"出价", "Place a bid"},
	"bid.amount":                        {"出价金额（元）", "Amount (yuan)"},
	"bid.submit":                        {"提交出价", "Bid"},
	"bid.placed":                        {"出价已受理，序号 ", "Bid accepted, number "},
	"bid.refused":                       {"出价未被接受：", "The bid was refused: "},
	"status.open":                       {"进行中", "Open"},
	"status.closed":                     {"已结束", "Closed"},
	"status.stopped":                    {"已中止", "Stopped"},
	"yuan":                              {"元", "yuan"},
}
