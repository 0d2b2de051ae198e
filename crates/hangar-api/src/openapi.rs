pub async fn serve() -> &'static str {
    "{}"
}
