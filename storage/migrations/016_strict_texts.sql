-- Strict mode's own words for the replies whose direct-mode text asks the
-- person to write on LINE (the greeting, welcome back, text only): in
-- strict mode the consultation happens in the desk's web chat. The
-- greeting and welcome back always come with the hand-off button, so they
-- point to it; the text-only reply may come without one (a link sent
-- earlier is still valid), so it names the page, not the button.
INSERT INTO settings (key, value, updated_by) VALUES
('autoreply_greeting_strict', to_jsonb(
'友だち追加ありがとうございます。{desk}です。
{audience}のための相談窓口です。相談は無料です。
相談の内容は、命を守るために必要なときを除いて、外にもらしません。
相談時間は{hours}です。時間外に書いてくれたことにも、次の相談時間にお返事します。
相談は、この窓口の専用のページでうかがいます。書いたことはLINEには残りません。
下のボタンから開いて、話したいことを書いてください。'::text), 'migration'),
('autoreply_welcome_back_strict', to_jsonb(
'おかえりなさい。{desk}です。
話したいことがあれば、いつでも下のボタンから相談のページを開いてください。
相談時間は{hours}です。'::text), 'migration'),
('autoreply_text_only_strict', to_jsonb(
'申し訳ありません。画像やスタンプ、ファイルなどは受け取ることができません。
相談は、この窓口の専用のページで、文字でうかがっています。'::text), 'migration');
INSERT INTO settings_changes (key, new_value, changed_by)
	SELECT key, value, updated_by FROM settings
	 WHERE key IN ('autoreply_greeting_strict',
	     'autoreply_welcome_back_strict', 'autoreply_text_only_strict');
